"""The analyst's workspace: one way to read filters from a request and query what the
analyst may see. Maps, counts, comparisons and linked views all start here."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.http import Http404, QueryDict
from django.utils import timezone

from datasets import selectors as dataset_selectors
from datasets.models import Dataset
from hub.models import User
from sharing.choices import AccessLevel
from sharing.extracts import ExtractQuery, category_fields
from sharing.selectors import AccessDecision, access_decision, analyst_standing


class FilterInvalid(ValueError):
    """A filter the analyst gave cannot be used; the message says which and why."""


@dataclass
class WorkspaceQuery:
    dataset: Dataset
    decision: AccessDecision
    query: ExtractQuery

    @property
    def records_allowed(self) -> bool:
        """Individual (sanitised) records, or only concentrations and suppressed counts."""
        return self.decision.allows(AccessLevel.DEPERSONALISED)


def _date(params: QueryDict, name: str, default: datetime.date) -> datetime.date:
    raw = params.get(name)
    if not raw:
        return default
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as error:
        raise FilterInvalid(f"{name} must be a date, yyyy-mm-dd.") from error


def _list(params: QueryDict, name: str) -> list[str]:
    return [part.strip() for part in params.get(name, "").split(",") if part.strip()]


def workspace_query(
    *, user: User, params: QueryDict, dataset: Dataset | None = None
) -> WorkspaceQuery:
    """The query for ``params`` (dataset, period_start, period_end, districts, weekdays,
    hour_from, hour_to, category, values), for a dataset the user may at least count.

    A dataset the user may not see is a 404, as if it did not exist; a bad filter is
    FilterInvalid. The period defaults to the last twelve months.
    """
    dataset = dataset or dataset_selectors.dataset_get(slug=params.get("dataset", ""))
    decision = access_decision(user=user, dataset=dataset)
    if decision.level == AccessLevel.NONE:
        raise Http404("No such dataset.")
    agency, _ = analyst_standing(user=user)
    today = timezone.localdate()
    end = _date(params, "period_end", today)
    start = _date(params, "period_start", end - datetime.timedelta(days=365))
    if end < start:
        raise FilterInvalid("The period ends before it starts.")
    try:
        weekdays = [int(day) for day in _list(params, "weekdays")]
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
        if params["category"] not in category_fields(dataset.schema):
            raise FilterInvalid(f"{dataset.name} cannot be filtered by {params['category']!r}.")
        category = (params["category"], _list(params, "values"))
        if not category[1]:
            raise FilterInvalid("Give the values of the category to keep.")
    query = ExtractQuery(
        partnership_id=agency.partnership_id,
        dataset=dataset,
        period=(start, end),
        fields=[],
        area={"districts": _list(params, "districts")} if params.get("districts") else {},
        weekdays=weekdays,
        hours=hours,
        category=category,
    )
    return WorkspaceQuery(dataset=dataset, decision=decision, query=query)
