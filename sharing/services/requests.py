"""Personal-data requests: asked by an analyst of a core-tier agency, decided by the supplying
agency's DLO (and its Caldicott Guardian for health data), ended by the requester, the DLO
or time. Each write is atomic and audited, and refuses with a GovernanceRefused whose message
says why."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from datasets.choices import DatasetKind
from datasets.models import Dataset
from hub.access import agency_standing, role_holders
from hub.choices import HEALTH_AGENCY_TYPES, IspTier, Role
from hub.models import Agency, User
from hub.services import audit_record
from sharing.access import analyst_standing, request_decider_role
from sharing.choices import ExtractStatus, RequestStatus
from sharing.models import PersonalDataRequest
from sharing.records import LOCATION_COLUMNS, period_invalid, personal_fields, record_fields
from sharing.services.governance import mail_send, role_emails
from sharing.services.isp import GovernanceRefused


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
    mail_send(
        to=role_emails(supplying_agency, Role.DLO),
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
    standing = agency_standing(agency=data_request.supplying_agency)
    refusal = ""
    if data_request.status != RequestStatus.PENDING:
        refusal = "The request has been decided already."
    elif role is None:
        refusal = (
            "Nobody decides their own request: another DLO of the agency must."
            if acting_user.pk == data_request.requester_id
            else "Only the supplying agency's DLO or Caldicott Guardian decides."
        )
    elif approve and standing.tier == IspTier.NONE:
        # An approval given outside the ISP would take effect, unseen, on signing again.
        refusal = f"{standing.reason} Its data can be approved for sharing once it has signed."
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
    mail_send(
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
    from sharing.services.extracts import extract_delete

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
