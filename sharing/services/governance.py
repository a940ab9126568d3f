"""The partnership's governance: ISP versions and partners, and users.

Writes for the co-ordinator; each is atomic and audited, and refuses with a
GovernanceRefused whose message says why, a caller who is not the partnership's co-ordinator
included (hub.access audits that refusal).
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from hub.access import coordinator_check, partnership_coordinated_for, refuse, role_holders
from hub.choices import Role
from hub.models import Agency, InformationSharingProtocol, Membership, Partnership, User
from hub.services import agency_ensure, audit_record, membership_grant, tokens_revoke
from sharing.selectors import responsible_authorities
from sharing.services.isp import GovernanceRefused, isp_ensure


def mail_send(*, to: list[str], subject: str, body: str) -> None:
    if to:
        send_mail(subject, body, None, to, fail_silently=True)


def role_emails(agency: Agency, role: str) -> list[str]:
    return list(
        role_holders(agency=agency, role=role).exclude(email="").values_list("email", flat=True)
    )


# -- ISP and partners -------------------------------------------------------------------------


def isp_adopt(
    *,
    partnership: Partnership,
    version: str,
    adopted_on: datetime.date,
    review_due: datetime.date,
    acting_user: User,
) -> InformationSharingProtocol:
    """Adopt a new ISP version: it becomes current, and every agency must sign it again to
    keep its access, so each agency's DLO is asked to."""
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="isp_adopt",
        act="adopt its ISP", refusal=GovernanceRefused,
    )  # fmt: skip
    if InformationSharingProtocol.objects.filter(partnership=partnership, version=version):
        raise GovernanceRefused(f"Version {version} exists already; give the new one its own.")
    try:
        isp = isp_ensure(
            partnership=partnership,
            version=version,
            adopted_on=adopted_on,
            review_due=review_due,
            acting_user=acting_user,
        )
    except ValueError as error:
        raise GovernanceRefused(str(error)) from error
    # Every agency stands nowhere until it signs the new version: access is lowered for all.
    tokens_revoke(
        users=User.objects.filter(memberships__agency__partnership=partnership).distinct(),
        reason=f"ISP version {version} adopted: to be signed again",
        acting_user=acting_user,
    )
    for agency in partnership.agencies.all():
        mail_send(
            to=role_emails(agency, Role.DLO),
            subject=f"Please sign version {version} of the Information Sharing Protocol",
            body=f"{partnership} adopted version {version} of its Information Sharing Protocol "
            f"on {adopted_on:%d/%m/%Y}. Until {agency} signs it, its staff cannot supply or "
            "extract data through the hub. Please return the signed protocol to the CSP "
            "co-ordinator.",
        )
    return isp


def agency_admit(
    *,
    partnership: Partnership,
    name: str,
    agency_type: str,
    consenting: list[Agency],
    acting_user: User,
) -> Agency:
    """Make an agency a partner, with the consent of every responsible authority (§2.2.4).

    The agency signs the ISP separately; until then it has no access.
    """
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="agency_admit",
        act="admit partners to it", refusal=GovernanceRefused,
    )  # fmt: skip
    if Agency.objects.filter(partnership=partnership, name__iexact=name.strip()).exists():
        raise GovernanceRefused(f"{name} is a partner already.")
    missing = set(responsible_authorities(partnership=partnership)) - set(consenting)
    if missing:
        names = ", ".join(sorted(agency.name for agency in missing))
        raise GovernanceRefused(
            f"Every responsible authority must consent to a new partner; not yet: {names}."
        )
    with transaction.atomic():
        agency = agency_ensure(
            partnership=partnership, name=name.strip(), agency_type=agency_type,
            acting_user=acting_user,
        )  # fmt: skip
        agency.partner_consent = {
            "authorities": sorted(a.name for a in consenting),
            "recorded_by": acting_user.get_username(),
            "recorded_at": timezone.now().isoformat(),
        }
        agency.save(update_fields=["partner_consent"])
        audit_record(
            actor=acting_user,
            action="agency_admitted",
            agency=agency,
            target=agency,
            detail={"consent": agency.partner_consent["authorities"]},
        )
    return agency


# -- users ------------------------------------------------------------------------------------


def _username_for(email: str) -> str:
    base = re.sub(r"[^a-z0-9_.]", "_", email.split("@")[0].lower())[:140] or "user"
    candidate, number = base, 1
    while User.objects.filter(username=candidate).exists():
        number += 1
        candidate = f"{base}{number}"
    return candidate


def user_invite(
    *,
    agency: Agency,
    email: str,
    first_name: str,
    last_name: str,
    roles: list[str],
    acting_user: User,
) -> User:
    """Create an account in an agency and e-mail a link to choose a password; for the
    co-ordinator of the agency's partnership."""
    coordinator_check(
        acting_user=acting_user, partnership=agency.partnership, service="user_invite",
        act="invite users to its agencies", refusal=GovernanceRefused, agency=agency,
    )  # fmt: skip
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise GovernanceRefused(f"{email} has an account already; add it to the agency instead.")
    with transaction.atomic():
        return _user_create(
            agency=agency, email=email, first_name=first_name, last_name=last_name, roles=roles,
            acting_user=acting_user,
        )  # fmt: skip


def _user_create(*, agency, email, first_name, last_name, roles, acting_user) -> User:
    user = User.objects.create(
        username=_username_for(email), email=email, first_name=first_name, last_name=last_name
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    membership_grant(user=user, agency=agency, roles=roles, acting_user=acting_user)
    audit_record(
        actor=acting_user,
        action="user_invited",
        agency=agency,
        target=user,
        detail={"user": user.get_username(), "roles": roles},
    )
    link = settings.HUB_SITE_URL + reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    transaction.on_commit(
        lambda: mail_send(
            to=[email],
            subject="Your account on the CSP Information Hub",
            body=f"{acting_user.get_full_name() or acting_user} has given you an account at "
            f"{agency} on the partnership's information hub (username {user.username}). "
            f"Choose your password here: {link}\n\nThe link works once.",
        )
    )
    return user


def user_deactivate(*, user: User, acting_user: User) -> None:
    """Stop the user at once: sessions and API tokens stop working on the next request. For
    the co-ordinator of a partnership the user belongs to. A user who belongs to another
    partnership too only leaves this one's agencies: one partnership cannot shut another's
    people out."""
    partnership = partnership_coordinated_for(coordinator=acting_user, member=user)
    coordinator_check(
        acting_user=acting_user, partnership=partnership, service="user_deactivate",
        act="deactivate this user", refusal=GovernanceRefused,
    )  # fmt: skip
    if user == acting_user:
        raise GovernanceRefused("You cannot deactivate your own account.")
    elsewhere = Membership.objects.filter(user=user).exclude(agency__partnership=partnership)
    with transaction.atomic():
        if elsewhere.exists():
            Membership.objects.filter(user=user, agency__partnership=partnership).delete()
            action, reason = "user_removed_from_partnership", f"left {partnership}"
        else:
            User.objects.filter(pk=user.pk).update(is_active=False)
            action, reason = "user_deactivated", "account deactivated"
        audit_record(
            actor=acting_user, action=action, target=user, partnership=partnership,
            detail={"user": user.get_username()},
        )  # fmt: skip
        tokens_revoke(users=[user], reason=reason, acting_user=acting_user)


def user_roles_set(*, user: User, agency: Agency, roles: list[str], acting_user: User) -> None:
    """Give the user exactly ``roles`` at the agency (none: they leave it); for the
    co-ordinator of the agency's partnership. Fewer roles, or leaving, revoke their API
    token (hub.services.membership_grant)."""
    coordinator_check(
        acting_user=acting_user, partnership=agency.partnership, service="user_roles_set",
        act="set roles at its agencies", refusal=GovernanceRefused, agency=agency,
    )  # fmt: skip
    if acting_user is not None and not _joinable(user=user, partnership=agency.partnership):
        reason = (
            f"{user} belongs to another partnership: only a co-ordinator of a partnership "
            "they belong to gives them roles."
        )
        refuse(user=acting_user, route="user_roles_set", reason=reason, agency=agency,
               target=user)  # fmt: skip
        raise GovernanceRefused(reason)
    with transaction.atomic():
        if roles:
            membership_grant(user=user, agency=agency, roles=roles, acting_user=acting_user)
            return
        left, _ = Membership.objects.filter(user=user, agency=agency).delete()
        audit_record(
            actor=acting_user, action="membership_removed", agency=agency, target=user,
            detail={"user": user.get_username()},
        )  # fmt: skip
        if left:
            tokens_revoke(users=[user], reason=f"left {agency}", acting_user=acting_user)


def _joinable(*, user: User, partnership: Partnership) -> bool:
    """Whether the partnership's co-ordinator may give the user roles: a member of it
    already, or someone who belongs to no partnership yet."""
    memberships = Membership.objects.filter(user=user)
    return not memberships.exists() or memberships.filter(agency__partnership=partnership).exists()
