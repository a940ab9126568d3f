"""The partnership's governance: ISP versions and partners, users, personal-data requests.

Writes for the co-ordinator and the DLOs; each is atomic and audited, and refuses with a
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

from datasets.choices import DatasetKind
from datasets.models import Dataset
from hub.access import coordinator_check, partnership_coordinated_for, refuse, role_holders
from hub.choices import HEALTH_AGENCY_TYPES, IspTier, Role
from hub.models import Agency, Membership, Partnership, User
from hub.services import agency_ensure, audit_record, membership_grant, tokens_revoke
from sharing.access import analyst_standing, request_decider_role
from sharing.choices import ExtractStatus, RequestStatus
from sharing.extracts import LOCATION_COLUMNS, period_invalid, personal_fields, record_fields
from sharing.models import InformationSharingProtocol, PersonalDataRequest
from sharing.selectors import responsible_authorities
from sharing.services import GovernanceRefused, isp_ensure


def _mail(*, to: list[str], subject: str, body: str) -> None:
    if to:
        send_mail(subject, body, None, to, fail_silently=True)


def _emails(agency: Agency, role: str) -> list[str]:
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
        _mail(
            to=_emails(agency, Role.DLO),
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
        lambda: _mail(
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


# -- personal-data requests -------------------------------------------------------------------


def request_create(
    *,
    requester: User,
    dataset: Dataset,
    supplying_agency: Agency,
    purpose: str,
    legal_basis: str,
    legal_basis_detail: str,
    records_needed: str,
    period_start: datetime.date,
    period_end: datetime.date,
    days_needed: int,
    fields: list[str] | None = None,
    districts: list[str] | None = None,
) -> PersonalDataRequest:
    """An analyst at a core-tier agency asks for personal data of a personalised dataset
    supplied by one agency of their partnership: its records of one period, these fields
    (all it holds if none are named) and, if named, only these postcode districts. An
    approval grants exactly that."""
    try:
        return _request_create(
            requester=requester, dataset=dataset, supplying_agency=supplying_agency,
            purpose=purpose, legal_basis=legal_basis, legal_basis_detail=legal_basis_detail,
            records_needed=records_needed, period_start=period_start, period_end=period_end,
            days_needed=days_needed, fields=fields, districts=districts,
        )  # fmt: skip
    except GovernanceRefused as refusal:
        audit_record(
            actor=requester, action="data_request_refused", dataset_slug=dataset.slug,
            agency=supplying_agency, detail={"reason": str(refusal)},
        )  # fmt: skip
        raise


def _request_create(
    *,
    requester,
    dataset,
    supplying_agency,
    legal_basis,
    legal_basis_detail,
    days_needed,
    period_start,
    period_end,
    fields,
    districts,
    **details,
) -> PersonalDataRequest:
    agency, standing = analyst_standing(user=requester, partnership=supplying_agency.partnership)
    if agency is None or standing.tier != IspTier.CORE:
        raise GovernanceRefused(
            "Only analysts of core-tier agencies may ask for personal data (guidance §2.2.4)."
        )
    if dataset.kind == DatasetKind.DEPERSONALISED:
        raise GovernanceRefused(f"{dataset.name} is depersonalised: it holds no personal data.")
    if supplying_agency.agency_type not in dataset.supplier_types:
        raise GovernanceRefused(f"{supplying_agency} does not supply {dataset.name}.")
    if not role_holders(agency=supplying_agency, role=Role.DLO).exists():
        raise GovernanceRefused(f"{supplying_agency} has no DLO to decide the request.")
    if legal_basis == "other" and not legal_basis_detail.strip():
        raise GovernanceRefused("Say which legal basis applies.")
    if not 1 <= days_needed <= settings.HUB_REQUEST_MAX_DAYS:
        raise GovernanceRefused(f"Ask for 1 to {settings.HUB_REQUEST_MAX_DAYS} days.")
    problem = period_invalid(period_start, period_end)
    if problem:
        raise GovernanceRefused(problem)
    held = list(dict.fromkeys(record_fields(dataset.schema) + personal_fields(dataset.schema)))
    fields = list(dict.fromkeys(name for name in (fields or held) if name not in LOCATION_COLUMNS))
    unknown = [name for name in fields if name not in held]
    if unknown:
        raise GovernanceRefused(f"{dataset.name} has no field {', '.join(unknown)} to ask for.")
    districts = sorted({d.strip().upper() for d in districts or [] if d.strip()})
    with transaction.atomic():
        data_request = PersonalDataRequest.objects.create(
            requester=requester,
            requester_agency=agency,
            supplying_agency=supplying_agency,
            dataset=dataset,
            legal_basis=legal_basis,
            legal_basis_detail=legal_basis_detail,
            period_start=period_start,
            period_end=period_end,
            days_needed=days_needed,
            fields=fields,
            area={"districts": districts} if districts else {},
            caldicott_needed=supplying_agency.agency_type in HEALTH_AGENCY_TYPES
            and role_holders(agency=supplying_agency, role=Role.CALDICOTT).exists(),
            **details,
        )
        audit_record(
            actor=requester, action="data_request_made", agency=supplying_agency,
            dataset_slug=dataset.slug, target=data_request,
            detail={"legal_basis": legal_basis, "days": days_needed, "fields": fields,
                    "districts": districts,
                    "period": [period_start.isoformat(), period_end.isoformat()]},
        )  # fmt: skip
    _mail(
        to=_emails(supplying_agency, Role.DLO),
        subject=f"Request for personal data: {dataset.name}",
        body=f"{requester.get_full_name() or requester} of {agency} asks for personal data "
        f"from {dataset.name} supplied by {supplying_agency}, for: {data_request.purpose}\n\n"
        f"Decide it at {settings.HUB_SITE_URL}" + reverse("request-detail", args=[data_request.pk]),
    )
    return data_request


def request_decide(
    *, data_request: PersonalDataRequest, approve: bool, reason: str, acting_user: User
) -> PersonalDataRequest:
    """The supplying agency's DLO, or its Caldicott Guardian, approves or refuses.

    Access begins when every decision needed is an approval, for the days asked.
    """
    role = request_decider_role(user=acting_user, data_request=data_request)
    refusal = ""
    if data_request.status != RequestStatus.PENDING:
        refusal = "The request has been decided already."
    elif role is None:
        refusal = (
            "Nobody decides their own request: another DLO of the agency must."
            if acting_user.pk == data_request.requester_id
            else "Only the supplying agency's DLO or Caldicott Guardian decides."
        )
    if refusal:
        raise _request_refused(data_request, acting_user, "data_request_decision_refused", refusal)
    as_dlo = role == Role.DLO
    if not reason.strip():
        raise GovernanceRefused("Give the reasons for the decision; they are kept on record.")
    now = timezone.now()
    with transaction.atomic():
        if as_dlo:
            data_request.dlo_decision_by, data_request.dlo_decided_at = acting_user, now
        else:
            data_request.caldicott_decision_by, data_request.caldicott_decided_at = acting_user, now
        data_request.decision_reason = "\n".join(
            part for part in [data_request.decision_reason, f"{acting_user}: {reason}"] if part
        )
        if not approve:
            data_request.status = RequestStatus.REFUSED
        elif data_request.dlo_decided_at and (
            data_request.caldicott_decided_at or not data_request.caldicott_needed
        ):
            data_request.status = RequestStatus.APPROVED
            data_request.expires_at = now + datetime.timedelta(days=data_request.days_needed)
        data_request.save()
        audit_record(
            actor=acting_user,
            action="data_request_approved" if approve else "data_request_refused_by_dlo",
            agency=data_request.supplying_agency,
            dataset_slug=data_request.dataset.slug,
            target=data_request,
            detail={"as": "dlo" if as_dlo else "caldicott", "reason": reason},
        )
    _mail(
        to=[data_request.requester.email] if data_request.requester.email else [],
        subject=f"Your request for {data_request.dataset.name}: "
        f"{data_request.get_status_display().lower()}",
        body=f"{acting_user.get_full_name() or acting_user} has "
        f"{'approved' if approve else 'refused'} your request: {reason}",
    )
    return data_request


def request_end(
    *, data_request: PersonalDataRequest, acting_user: User | None, reason: str
) -> PersonalDataRequest:
    """End access under the request and delete the extracts made under it (the data are to
    be "destroyed after [they have] been used for the purpose", §2.4)."""
    from sharing.services import extract_delete

    refusal = ""
    if data_request.status not in (RequestStatus.APPROVED, RequestStatus.PENDING):
        refusal = "The request is not open."
    elif acting_user is not None and acting_user not in (
        data_request.requester,
        data_request.dlo_decision_by,
    ):
        refusal = "Only the requester or the deciding DLO can end it."
    if refusal:
        raise _request_refused(data_request, acting_user, "data_request_end_refused", refusal)
    with transaction.atomic():
        data_request.status = RequestStatus.ENDED
        data_request.ended_at = timezone.now()
        data_request.save(update_fields=["status", "ended_at"])
        for extract in data_request.extracts.exclude(status=ExtractStatus.EXPIRED):
            extract_delete(extract=extract, reason=f"request ended: {reason}")
        audit_record(
            actor=acting_user, action="data_request_ended", agency=data_request.supplying_agency,
            dataset_slug=data_request.dataset.slug, target=data_request,
            detail={"reason": reason}, system="" if acting_user else "retention",
        )  # fmt: skip
    return data_request


def _request_refused(
    data_request: PersonalDataRequest, acting_user: User | None, action: str, reason: str
) -> GovernanceRefused:
    audit_record(
        actor=acting_user, action=action, agency=data_request.supplying_agency,
        dataset_slug=data_request.dataset.slug, target=data_request, detail={"reason": reason},
        system="" if acting_user else "retention",
    )  # fmt: skip
    return GovernanceRefused(reason)


def requests_expire(*, now: datetime.datetime | None = None) -> int:
    """End every approved request whose time is up."""
    now = now or timezone.now()
    due = list(
        PersonalDataRequest.objects.filter(
            status=RequestStatus.APPROVED, expires_at__lt=now
        ).select_related("dataset", "supplying_agency", "requester", "dlo_decision_by")
    )
    for data_request in due:
        request_end(data_request=data_request, acting_user=None, reason="its time ran out")
    return len(due)
