"""The access gate: who may see which rows and fields of the partnership's data.

The only module of ``sharing`` that reads roles, memberships, ISP standing, access profiles
and personal-data requests. Every route to records (extracts in every format and join, the
map, counts and their CSV, the explorer, the linked view, the comparison, saved queries) asks
``record_scope`` for the exact partnership, supplying agencies, period, area and fields it may
use, and builds its query from that scope. A refusal is audited here, once, on every route.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from datasets.choices import DatasetKind
from datasets.models import Dataset
from hub.access import AccessRefused as AccessRefused  # the gate's refusal, for callers
from hub.access import agencies_with_role, holds_role, refuse, uuid_or_none, visible_get
from hub.choices import IspTier, Role
from hub.models import Agency, Partnership, User
from sharing.choices import LEVEL_ORDER, LEVEL_PERMISSIONS, AccessLevel, RequestStatus
from sharing.models import (
    AccessProfile,
    Extract,
    PersonalDataRequest,
    SavedQuery,
    SharedDataset,
)
from sharing.records import ExtractQuery, personal_fields, record_fields
from sharing.selectors import IspStanding, agency_standing

# -- where an analyst stands ------------------------------------------------------------------

_TIER_RANK = {IspTier.CORE: 2, IspTier.ASSOCIATE: 1, IspTier.NONE: 0}


def _profiles_of(user: User) -> QuerySet[AccessProfile]:
    return AccessProfile.objects.filter(Q(users=user) | Q(groups__user=user))


def analyst_standing(
    *, user: User, partnership: Partnership | None = None
) -> tuple[Agency | None, IspStanding | None]:
    """The agency the user acts for as an analyst, and its ISP standing: in ``partnership``
    if given; else where they stand best (core before associate, then a partnership where
    an access profile covers them), so that a user of two partnerships gets one answer."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None, None
    agencies = agencies_with_role(user=user, role=Role.ANALYST).select_related("partnership")
    if partnership is not None:
        agencies = agencies.filter(partnership=partnership)
    profiled = set(_profiles_of(user).values_list("partnership_id", flat=True))
    best: tuple[Agency | None, IspStanding | None] = (None, None)
    best_rank: tuple = ()
    for agency in agencies.order_by("pk"):
        standing = agency_standing(agency=agency)
        rank = (_TIER_RANK[standing.tier], agency.partnership_id in profiled)
        if best[0] is None or rank > best_rank:
            best, best_rank = (agency, standing), rank
    return best


# -- the level per dataset --------------------------------------------------------------------


@dataclass(frozen=True)
class AccessDecision:
    """The most a user may have of a dataset in one partnership, and in words why.

    ``level`` is personal under an approved request; ``profile_level`` is what the access
    profiles grant, which alone decides counts and depersonalised records: a request for one
    agency's records of one period and area opens nothing else of the dataset."""

    level: str
    reason: str
    profile_level: str = ""

    def allows(self, level: str) -> bool:
        if level == AccessLevel.PERSONAL:
            return self.level == AccessLevel.PERSONAL
        held = self.profile_level or self.level
        return LEVEL_ORDER.index(held) >= LEVEL_ORDER.index(level)


def active_requests(
    *, user: User, partnership: Partnership, now: datetime.datetime | None = None
) -> QuerySet[PersonalDataRequest]:
    """The user's personal-data requests that grant access now: approved, not yet expired
    (whatever the expiry task has done so far), for data of ``partnership``, made from an
    agency where the user is still an analyst and which is still a core-tier signatory, of
    data from an agency that is still a signatory."""
    candidates = PersonalDataRequest.objects.filter(
        requester=user,
        status=RequestStatus.APPROVED,
        expires_at__gt=now or timezone.now(),
        supplying_agency__partnership=partnership,
    ).select_related("dataset", "supplying_agency", "requester_agency")
    analyst_at = set(agencies_with_role(user=user, role=Role.ANALYST).values_list("pk", flat=True))
    kept = [
        data_request.pk
        for data_request in candidates
        if data_request.requester_agency_id in analyst_at
        and agency_standing(agency=data_request.requester_agency).tier == IspTier.CORE
        and agency_standing(agency=data_request.supplying_agency).tier != IspTier.NONE
    ]
    return candidates.filter(pk__in=kept)


def access_decisions(
    *, user: User, datasets: Iterable[Dataset], partnership: Partnership | None = None
) -> dict[int, AccessDecision]:
    """For each dataset, the level the user may have in the partnership they act in: the
    highest their access profiles there grant (django-guardian permissions held on the
    partnership's dataset), capped by their agency's ISP tier; personal only under an
    approved personal-data request."""
    datasets = list(datasets)
    if user is None or not user.is_authenticated or not user.is_active:
        return {d.pk: AccessDecision(AccessLevel.NONE, "You are not signed in.") for d in datasets}
    agency, standing = analyst_standing(user=user, partnership=partnership)
    return _decided(user=user, datasets=datasets, agency=agency, standing=standing,
                    partnership=partnership)  # fmt: skip


def _decided(
    *, user: User, datasets: list[Dataset], agency: Agency | None,
    standing: IspStanding | None, partnership: Partnership | None,
) -> dict[int, AccessDecision]:  # fmt: skip
    if agency is None:
        reason = "Only analysts extract data; you hold no analyst role."
        if partnership is not None:
            reason = f"You are not an analyst of {partnership}."
        return {d.pk: AccessDecision(AccessLevel.NONE, reason) for d in datasets}
    if standing.tier == IspTier.NONE:
        return {d.pk: AccessDecision(AccessLevel.NONE, standing.reason) for d in datasets}
    held = _held_permissions(user=user, partnership=agency.partnership, datasets=datasets)
    requested = set()
    if standing.tier == IspTier.CORE:
        requested = set(
            active_requests(user=user, partnership=agency.partnership).values_list(
                "dataset_id", flat=True
            )
        )
    decisions = {}
    for dataset in datasets:
        granted = AccessLevel.NONE
        for level in (AccessLevel.PERSONAL, AccessLevel.DEPERSONALISED, AccessLevel.AGGREGATE):
            if LEVEL_PERMISSIONS[level] in held.get(dataset.pk, ()):
                granted = level
                break
        decision = _capped(granted, dataset=dataset, tier=standing.tier)
        if dataset.pk in requested:
            reason = (
                "An approved personal-data request grants personal data within its scope "
                f"until it ends. {decision.reason}"
            )
            decision = AccessDecision(AccessLevel.PERSONAL, reason, decision.level)
        decisions[dataset.pk] = decision
    return decisions


def _held_permissions(
    *, user: User, partnership: Partnership, datasets: list[Dataset]
) -> dict[int, set[str]]:
    """The django-guardian permissions the user holds, directly or through a group, on each
    dataset as shared in the partnership, by dataset id. Read by content type's name rather
    than through guardian's checker, whose cached content type ids a long-running worker
    would otherwise keep."""
    shared = dict(
        SharedDataset.objects.filter(partnership=partnership, dataset__in=datasets).values_list(
            "pk", "dataset_id"
        )
    )
    on_shared = {
        "content_type__app_label": SharedDataset._meta.app_label,
        "content_type__model": SharedDataset._meta.model_name,
        "object_pk__in": [str(pk) for pk in shared],
    }
    rows = (
        UserObjectPermission.objects.filter(user=user, **on_shared)
        .values_list("object_pk", "permission__codename")
        .union(
            GroupObjectPermission.objects.filter(group__user=user, **on_shared).values_list(
                "object_pk", "permission__codename"
            )
        )
    )
    held: dict[int, set[str]] = {}
    for object_pk, codename in rows:
        held.setdefault(shared[int(object_pk)], set()).add(codename)
    return held


def _capped(granted: str, *, dataset: Dataset, tier: str) -> AccessDecision:
    if granted == AccessLevel.NONE:
        return AccessDecision(AccessLevel.NONE, "None of your access profiles covers this dataset.")
    # Personal data come only through an approved, time-limited personal-data request, never
    # from a profile, and never to an associate-tier agency (guidance §2.2.4, §2.4).
    if granted == AccessLevel.PERSONAL:
        granted = AccessLevel.DEPERSONALISED
    label = AccessLevel(granted).label.lower()
    reason = f"Your access profile grants {label}"
    if dataset.kind != DatasetKind.DEPERSONALISED and tier == IspTier.CORE:
        reason += "; personal data need an approved personal-data request"
    return AccessDecision(granted, reason + ".")


def access_decision(
    *, user: User, dataset: Dataset, partnership: Partnership | None = None
) -> AccessDecision:
    return access_decisions(user=user, datasets=[dataset], partnership=partnership)[dataset.pk]


# -- the rows and fields allowed --------------------------------------------------------------


@dataclass(frozen=True)
class RecordScope:
    """Exactly what a user may have of one dataset at one level: the partnership's records,
    from every supplying agency or only those named, in any period or only one, in any area
    or only some postcode districts, with these fields."""

    agency: Agency  # the analyst's agency the data go to
    dataset: Dataset
    level: str
    fields: tuple[str, ...]
    decision: AccessDecision
    supplying_agency_ids: tuple[int, ...] | None = None
    period: tuple[datetime.date, datetime.date] | None = None
    districts: tuple[str, ...] | None = None
    data_request: PersonalDataRequest | None = None

    @property
    def partnership_id(self) -> int:
        return self.agency.partnership_id

    def query(
        self,
        *,
        period: tuple[datetime.date, datetime.date],
        fields: list[str] | None = None,
        area: dict | None = None,
        dataset: Dataset | None = None,
        **filters,
    ) -> ExtractQuery:
        """The records query for this scope and the caller's own filters (which must lie
        within it: see ``outside``)."""
        return ExtractQuery(
            partnership_id=self.partnership_id,
            dataset=dataset or self.dataset,
            period=period,
            fields=list(fields or []),
            area=dict(area or {}),
            supplying_agency_ids=(
                list(self.supplying_agency_ids) if self.supplying_agency_ids is not None else None
            ),
            **filters,
        )

    def outside(
        self,
        *,
        period: tuple[datetime.date, datetime.date],
        fields: Iterable[str] = (),
        area: dict | None = None,
    ) -> str:
        """Why asking for this period, these fields and this area goes beyond the scope, or
        "" if it does not."""
        if self.period is not None and (period[0] < self.period[0] or period[1] > self.period[1]):
            return (
                f"Your personal-data request covers {self.period[0]:%d/%m/%Y} to "
                f"{self.period[1]:%d/%m/%Y} only."
            )
        beyond = [name for name in fields if name not in self.fields]
        if beyond:
            return f"You may not have {', '.join(beyond)} of {self.dataset.name} at this level."
        if self.districts is not None:
            asked = [d.upper().strip() for d in (area or {}).get("districts", [])]
            if (area or {}).get("bbox") or not asked or set(asked) - set(self.districts):
                return (
                    "Your personal-data request covers the postcode districts "
                    f"{', '.join(self.districts)} only: name them as the area."
                )
        return ""


def record_scope(
    *,
    user: User,
    dataset: Dataset,
    level: str | None,
    route: str,
    partnership: Partnership | None = None,
    data_request_id: int | None = None,
    ip_address: str | None = None,
) -> RecordScope:
    """The scope of ``dataset`` at ``level`` (None: the most the user holds short of
    personal data) for the user, or AccessRefused (audited).

    Aggregate and depersonalised: the records of every supplying agency of the partnership
    the user acts in, in any period and area. Personal: exactly what an approved, unexpired
    personal-data request allows (its supplying agency, dataset, period, fields and area),
    named by ``data_request`` or, if the user holds one such request, that one.
    """
    agency, standing = analyst_standing(user=user, partnership=partnership)
    decision = (
        _decided(user=user, datasets=[dataset], agency=agency, standing=standing,
                 partnership=partnership)[dataset.pk]
        if user.is_authenticated and user.is_active
        else AccessDecision(AccessLevel.NONE, "You are not signed in.")
    )  # fmt: skip
    if level is None:
        level = (
            AccessLevel.DEPERSONALISED
            if decision.allows(AccessLevel.DEPERSONALISED)
            else AccessLevel.AGGREGATE
        )
    if level not in (AccessLevel.AGGREGATE, AccessLevel.DEPERSONALISED, AccessLevel.PERSONAL):
        reason = f"{level!r} is not a level: choose aggregate, depersonalised or personal."
    elif decision.level == AccessLevel.NONE:
        reason = decision.reason
    elif not decision.allows(level):
        reason = f"You may have {dataset.name} at {decision.level} level only. {decision.reason}"
    else:
        reason = ""
    if reason:
        raise refuse(
            user=user, route=route, reason=reason, dataset_slug=dataset.slug, agency=agency,
            detail={"level": level}, ip_address=ip_address,
        )  # fmt: skip
    schema = dataset.schema
    if level == AccessLevel.AGGREGATE:
        return RecordScope(
            agency=agency, dataset=dataset, level=level, fields=(), decision=decision
        )
    if level == AccessLevel.DEPERSONALISED:
        return RecordScope(
            agency=agency, dataset=dataset, level=level, fields=tuple(record_fields(schema)),
            decision=decision,
        )  # fmt: skip
    granting = active_requests(user=user, partnership=agency.partnership).filter(dataset=dataset)
    if data_request_id is not None:
        granting = granting.filter(pk=data_request_id)
    granting = list(granting)
    if len(granting) != 1:
        reason = (
            "Name the personal-data request the extract is made under: you hold several."
            if granting
            else "No approved personal-data request of yours covers this."
        )
        raise refuse(
            user=user, route=route, reason=reason, dataset_slug=dataset.slug, agency=agency,
            detail={"level": level}, ip_address=ip_address,
        )  # fmt: skip
    (granted,) = granting
    allowed = record_fields(schema) + personal_fields(schema)
    districts = granted.area.get("districts") if granted.area else None
    return RecordScope(
        agency=agency,
        dataset=dataset,
        level=level,
        fields=tuple(dict.fromkeys(name for name in granted.fields if name in allowed)),
        decision=decision,
        supplying_agency_ids=(granted.supplying_agency_id,),
        period=(granted.period_start, granted.period_end),
        districts=tuple(districts) if districts else None,
        data_request=granted,
    )


def extract_scope_check(
    *, extract: Extract, route: str, ip_address: str | None = None
) -> RecordScope:
    """The scope the extract's maker holds now, if it still covers all of the extract:
    checked before it is built and at each download. AccessRefused (audited) once a profile,
    a signature or a request that allowed it has gone."""
    user = extract.created_by
    scope = record_scope(
        user=user,
        dataset=extract.dataset,
        level=extract.level,
        route=route,
        partnership=extract.agency.partnership,
        data_request_id=extract.data_request_id,
        ip_address=ip_address,
    )
    reason = scope.outside(
        period=(extract.period_start, extract.period_end),
        fields=extract.fields,
        area=extract.area,
    )
    built_for = extract.metadata.get("tier")
    now_tier = agency_standing(agency=extract.agency).tier
    if not reason and built_for and _TIER_RANK[now_tier] < _TIER_RANK[built_for]:
        reason = (
            f"The extract was made for a {built_for}-tier partner; {extract.agency} is now "
            f"{now_tier}-tier, whose extracts need more disclosure control: request it again."
        )
    if not reason and extract.linked_dataset is not None:
        record_scope(
            user=user, dataset=extract.linked_dataset, level=extract.level, route=route,
            partnership=extract.agency.partnership, ip_address=ip_address,
        )  # fmt: skip
    if reason:
        raise refuse(
            user=user, route=route, reason=reason, dataset_slug=extract.dataset.slug,
            agency=extract.agency, target=extract, ip_address=ip_address,
        )  # fmt: skip
    return scope


# -- extracts and requests as objects ---------------------------------------------------------


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
    """Requests a user may see: their own, and those their agency (as DLO or Caldicott
    Guardian) decides."""
    if not user.is_authenticated:
        return PersonalDataRequest.objects.none()
    deciding = agencies_with_role(user=user, role=Role.DLO) | agencies_with_role(
        user=user, role=Role.CALDICOTT
    )
    return PersonalDataRequest.objects.filter(
        Q(requester=user) | Q(supplying_agency__in=deciding.values("pk"))
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
