"""Extracts, personal-data requests, saved queries and access profiles as objects: whose they
are, who may see and decide them. A lookup of one the user may not see answers as for one that
does not exist, and is audited."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from hub.access import (
    agencies_with_role,
    coordinated_partnership,
    holds_role,
    uuid_or_none,
    visible_get,
)
from hub.choices import Role
from hub.models import User
from sharing.models import (
    AccessProfile,
    Extract,
    PersonalDataRequest,
    SavedQuery,
)


def extract_restrict(*, user: User) -> QuerySet[Extract]:
    """An analyst's own extracts; nobody else's."""
    if not user.is_authenticated:
        return Extract.objects.none()
    return Extract.objects.filter(created_by=user).select_related(
        "dataset", "linked_dataset", "agency__partnership", "data_request", "created_by"
    )


def extract_get(
    *, user: User, extract_id, route: str = "extract", ip_address: str | None = None
) -> Extract:
    """The extract, or 404 alike for one that does not exist and one that is not yours; the
    second is audited as a refusal."""
    return visible_get(
        visible=extract_restrict(user=user), key=uuid_or_none(extract_id), user=user, route=route,
        reason="Another user's extract.", ip_address=ip_address,
    )  # fmt: skip


def request_restrict(*, user: User) -> QuerySet[PersonalDataRequest]:
    """Requests a user may see: their own, those their agency (as DLO or Caldicott Guardian)
    decides, and for the co-ordinator every request made in their partnership (they oversee
    the sharing; the supplying agency decides)."""
    if not user.is_authenticated:
        return PersonalDataRequest.objects.none()
    deciding = agencies_with_role(user=user, role=Role.DLO) | agencies_with_role(
        user=user, role=Role.CALDICOTT
    )
    coordinated = agencies_with_role(user=user, role=Role.COORDINATOR).values("partnership")
    return PersonalDataRequest.objects.filter(
        Q(requester=user)
        | Q(supplying_agency__in=deciding.values("pk"))
        | Q(supplying_agency__partnership__in=coordinated)
    ).select_related("dataset", "supplying_agency", "requester", "requester_agency")


def request_get(
    *, user: User, request_id, route: str = "request page", ip_address: str | None = None
) -> PersonalDataRequest:
    """The request, or 404 alike for one that does not exist and one the user may not see;
    the second is audited as a refusal."""
    return visible_get(
        visible=request_restrict(user=user), user=user, route=route,
        key=int(request_id) if str(request_id).isdigit() else None,
        reason="Another user's personal-data request.", ip_address=ip_address,
    )  # fmt: skip


def request_decider_role(*, user: User, data_request: PersonalDataRequest) -> str | None:
    """The role in which the user may decide the request now ("dlo" or "caldicott"), or
    None. Never the requester's own, and never both decisions by one person."""
    decided = {data_request.dlo_decision_by_id, data_request.caldicott_decision_by_id}
    if user.pk == data_request.requester_id or user.pk in decided:
        return None
    agency = data_request.supplying_agency
    if holds_role(user=user, agency=agency, role=Role.DLO) and data_request.dlo_decided_at is None:
        return Role.DLO
    if (
        data_request.caldicott_needed
        and data_request.caldicott_decided_at is None
        and holds_role(user=user, agency=agency, role=Role.CALDICOTT)
    ):
        return Role.CALDICOTT
    return None


def saved_query_restrict(*, user: User) -> QuerySet[SavedQuery]:
    """The user's own saved queries and those analyst colleagues shared with the agencies
    where the user is an analyst too: a shared query is work in progress, not for suppliers.
    Opening one runs it with the opener's own access."""
    agencies = agencies_with_role(user=user, role=Role.ANALYST).values("pk")
    return SavedQuery.objects.filter(Q(owner=user) | Q(shared=True, agency__in=agencies))


def saved_query_get(
    *, user: User, saved_id, route: str, ip_address: str | None = None
) -> SavedQuery:
    """The saved query, or 404 alike for one that does not exist and one that is neither
    the user's nor shared with them; the second is audited as a refusal."""
    return visible_get(
        visible=saved_query_restrict(user=user), key=saved_id, user=user, route=route,
        reason="Another user's saved query.", ip_address=ip_address,
    )  # fmt: skip


def access_profile_restrict(*, user: User) -> QuerySet[AccessProfile]:
    """The access profiles of the partnership the user co-ordinates; nobody else's."""
    partnership = coordinated_partnership(user=user)
    if partnership is None:
        return AccessProfile.objects.none()
    return AccessProfile.objects.filter(partnership=partnership)


def access_profile_get(
    *, user: User, profile_id, route: str = "access profile", ip_address: str | None = None
) -> AccessProfile:
    """The profile, or 404 alike for one that does not exist and one of another partnership;
    the second is audited as a refusal."""
    return visible_get(
        visible=access_profile_restrict(user=user), user=user, route=route,
        key=int(profile_id) if str(profile_id).isdigit() else None,
        reason="Another partnership's access profile.", ip_address=ip_address,
    )  # fmt: skip
