"""Reads about users, agencies and roles."""

from __future__ import annotations

from django.db.models import QuerySet

from hub.models import Agency, User


def user_agencies(*, user: User, role: str | None = None) -> QuerySet[Agency]:
    """The agencies the user belongs to, optionally only those where they hold ``role``."""
    agencies = Agency.objects.filter(memberships__user=user)
    if role is not None:
        agencies = agencies.filter(memberships__roles__contains=[role])
    return agencies.distinct()


def user_roles(*, user: User) -> set[str]:
    if not user.is_authenticated:
        return set()
    return {role for roles in user.memberships.values_list("roles", flat=True) for role in roles}
