"""The rows and fields allowed: ``record_scope`` gives, for one dataset at one level, the exact
partnership, supplying agencies, period, area and fields a user may have; every route to
records builds its query from it. An extract is checked against it again when it is built and
at each download."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from datasets.models import Dataset
from hub.access import (
    agency_standing,
    refuse,
)
from hub.models import Agency, Partnership, User
from sharing.access.levels import (
    TIER_RANK,
    AccessDecision,
    active_requests,
    analyst_standing,
    decided_levels,
)
from sharing.choices import AccessLevel
from sharing.models import (
    Extract,
    PersonalDataRequest,
)
from sharing.records import ExtractQuery, personal_fields, record_fields


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
    tier: str  # the agency's ISP tier now: associate-tier record outputs are k-anonymous
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
            others = [key for key in (area or {}) if key != "districts" and (area or {})[key]]
            if others or not asked or set(asked) - set(self.districts):
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
        decided_levels(user=user, datasets=[dataset], agency=agency, standing=standing,
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
            partnership=partnership, detail={"level": level}, ip_address=ip_address,
        )  # fmt: skip
    schema = dataset.schema
    if level == AccessLevel.AGGREGATE:
        return RecordScope(
            agency=agency, dataset=dataset, level=level, fields=(), decision=decision,
            tier=standing.tier,
        )  # fmt: skip
    if level == AccessLevel.DEPERSONALISED:
        return RecordScope(
            agency=agency, dataset=dataset, level=level, fields=tuple(record_fields(schema)),
            decision=decision, tier=standing.tier,
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
            partnership=partnership, detail={"level": level}, ip_address=ip_address,
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
        tier=standing.tier,
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
    # The file goes to its maker as they act now: the lower of the tiers of the agency it was
    # made for and of the agency they now act for decides.
    standing = min(
        (agency_standing(agency=agency) for agency in (extract.agency, scope.agency)),
        key=lambda standing: TIER_RANK[standing.tier],
    )
    if not reason and built_for and TIER_RANK[standing.tier] < TIER_RANK[built_for]:
        reason = (
            f"The extract was made for a {built_for}-tier partner; you now act for a "
            f"{standing.tier}-tier one, whose extracts need more disclosure control: request it "
            "again."
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
