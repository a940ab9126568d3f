"""The analyst's workspace: one way to read filters from a request and query what the
analyst may see. Maps, counts, comparisons and linked views all start here."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.http import Http404, QueryDict
from django.utils import timezone

from datasets import selectors as dataset_selectors
from datasets.codelists import codes_as_stored
from datasets.models import Dataset
from hub.models import Partnership, User
from sanitise.areas import AreaUnknown, areas_resolve
from sharing.access import (
    AccessDecision,
    AccessRefused,
    RecordScope,
    record_scope,
)
from sharing.area_keys import KIND_KEY
from sharing.disclosure import (
    Release,
    area_invalid_for,
    breakdown_fields,
    category_values_invalid,
    period_invalid_for,
    release_for,
)
from sharing.records import ExtractQuery, period_invalid


class FilterInvalid(ValueError):
    """A filter the analyst gave cannot be used; the message says which and why."""


class FilterBeyondRelease(FilterInvalid):
    """A filter the user's level on this dataset does not allow (a part month, a value that is
    not a code), though it may be fine on another dataset."""


@dataclass
class WorkspaceQuery:
    dataset: Dataset
    scope: RecordScope
    query: ExtractQuery

    @property
    def decision(self) -> AccessDecision:
        return self.scope.decision

    @property
    def release(self) -> Release:
        """How much detail the workspace's answers may carry (sharing.disclosure)."""
        return release_for(self.scope)


def _date(params: QueryDict, name: str, default: datetime.date) -> datetime.date:
    raw = params.get(name)
    if not raw:
        return default
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as error:
        raise FilterInvalid(f"{name} must be a date, yyyy-mm-dd.") from error


def listed(params: QueryDict, name: str) -> list[str]:
    """A filter's values, sent comma-separated ("5,6") or one per parameter, as checkboxes
    send them (weekdays=5&weekdays=6), or both."""
    return [
        part.strip() for value in params.getlist(name) for part in value.split(",") if part.strip()
    ]


def partnership_chosen(params: QueryDict) -> Partnership | None:
    """The partnership named by ``partnership`` (a slug), for a user of several; None if
    none is named, and FilterInvalid for one that does not exist."""
    slug = params.get("partnership")
    if not slug:
        return None
    partnership = Partnership.objects.filter(slug=slug).first()
    if partnership is None:
        raise FilterInvalid(f"There is no partnership {slug!r}.")
    return partnership


def area_filter(*, partnership: Partnership, values: list[str]) -> dict:
    """The ExtractQuery ``area`` for areas named by code, name or the picker's label:
    {"wards": [...], "lsoas": [...], "districts": [...], …}. An area the partnership does not
    have is FilterInvalid naming the nearest ones it does: never a silent zero."""
    try:
        chosen = areas_resolve(
            local_authorities=partnership.local_authorities,
            postcode_areas=partnership.postcode_areas,
            values=values,
        )
    except AreaUnknown as unknown:
        raise FilterInvalid(str(unknown)) from unknown
    area: dict[str, list[str]] = {}
    for choice in chosen:
        area.setdefault(KIND_KEY[choice.kind], []).append(choice.code)
    return area


def twelve_whole_months(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The twelve whole months before this one: the default period of perturbed counts."""
    end = (today or timezone.localdate()).replace(day=1) - datetime.timedelta(days=1)
    months = end.year * 12 + end.month - 1 - 11
    return datetime.date(months // 12, months % 12 + 1, 1), end


def workspace_query(
    *,
    user: User,
    params: QueryDict,
    route: str,
    dataset: Dataset | None = None,
    ip_address: str | None = None,
) -> WorkspaceQuery:
    """The query for ``params`` (dataset, partnership, period_start, period_end, districts,
    areas (wards, LSOAs, … by code or name), weekdays, hour_from, hour_to, category, values),
    within the access gate's scope for the
    most the user may have of the dataset short of personal data.

    A dataset the user may not see is a 404, as if it did not exist, after the gate has
    audited the refusal; a bad filter is FilterInvalid. The period defaults to the last
    twelve months.
    """
    dataset = dataset or dataset_selectors.dataset_get(slug=params.get("dataset", ""))
    partnership = partnership_chosen(params)
    try:
        # The most the user holds short of personal data: the workspace shows no names.
        scope = record_scope(
            user=user, dataset=dataset, level=None, route=route, partnership=partnership,
            ip_address=ip_address,
        )  # fmt: skip
    except AccessRefused as refusal:
        raise Http404("No such dataset.") from refusal
    release = release_for(scope)
    if release.exact:
        end = _date(params, "period_end", timezone.localdate())
        start = _date(params, "period_start", end - datetime.timedelta(days=365))
    else:
        default_start, default_end = twelve_whole_months()
        end = _date(params, "period_end", default_end)
        start = _date(params, "period_start", default_start)
    problem = period_invalid(start, end)
    if problem:
        raise FilterInvalid(problem)
    problem = period_invalid_for((start, end), release)
    if problem:
        raise FilterBeyondRelease(problem)
    try:
        weekdays = [int(day) for day in listed(params, "weekdays")]
        hours = None
        if params.get("hour_from") or params.get("hour_to"):
            hours = (int(params.get("hour_from", 0)), int(params.get("hour_to", 24)))
    except ValueError as error:
        raise FilterInvalid("Days are 1 (Monday) to 7; hours are 0 to 24.") from error
    if any(not 1 <= day <= 7 for day in weekdays):
        raise FilterInvalid("Days are 1 (Monday) to 7 (Sunday).")
    if hours is not None and not (0 <= hours[0] <= 24 and 0 <= hours[1] <= 24):
        raise FilterInvalid("Hours are 0 to 24.")
    category = None
    if params.get("category"):
        if params["category"] not in breakdown_fields(dataset.schema, release):
            raise FilterInvalid(f"{dataset.name} cannot be filtered by {params['category']!r}.")
        spec = dataset.schema.by_name[params["category"]]
        category = (spec.name, codes_as_stored(spec, listed(params, "values")))
        if not category[1]:
            raise FilterInvalid("Give the values of the category to keep.")
        problem = category_values_invalid(spec, category[1], release)
        if problem:
            raise FilterBeyondRelease(problem)
    area = {"districts": listed(params, "districts")} if listed(params, "districts") else {}
    if listed(params, "areas"):
        chosen = area_filter(partnership=scope.agency.partnership, values=listed(params, "areas"))
        for key, codes in chosen.items():
            area[key] = list(dict.fromkeys([*area.get(key, []), *codes]))
    problem = area_invalid_for(area, release)
    if problem:
        raise FilterBeyondRelease(problem)
    query = scope.query(
        period=(start, end),
        area=area,
        weekdays=weekdays,
        hours=hours,
        category=category,
    )
    return WorkspaceQuery(dataset=dataset, scope=scope, query=query)
