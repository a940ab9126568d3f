"""The analyst's workspace: one way to read filters from a request and query what the
analyst may see. Maps, counts, comparisons and linked views all start here."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone

from datasets import selectors as dataset_selectors
from datasets.models import Dataset, Record
from hub.models import Partnership, User
from hub.services import audit_record
from sharing.access import (
    AccessDecision,
    AccessRefused,
    RecordScope,
    access_decision,
    analyst_standing,
    record_scope,
)
from sharing.choices import AccessLevel, WorkspaceView
from sharing.models import SavedQuery
from sharing.records import ExtractQuery, category_fields, period_invalid


class FilterInvalid(ValueError):
    """A filter the analyst gave cannot be used; the message says which and why."""


@dataclass
class WorkspaceQuery:
    dataset: Dataset
    decision: AccessDecision
    scope: RecordScope
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


def workspace_query(
    *,
    user: User,
    params: QueryDict,
    route: str,
    dataset: Dataset | None = None,
    ip_address: str | None = None,
) -> WorkspaceQuery:
    """The query for ``params`` (dataset, partnership, period_start, period_end, districts,
    weekdays, hour_from, hour_to, category, values), within the access gate's scope for the
    most the user may have of the dataset short of personal data.

    A dataset the user may not see is a 404, as if it did not exist, after the gate has
    audited the refusal; a bad filter is FilterInvalid. The period defaults to the last
    twelve months.
    """
    dataset = dataset or dataset_selectors.dataset_get(slug=params.get("dataset", ""))
    partnership = partnership_chosen(params)
    decision = access_decision(user=user, dataset=dataset, partnership=partnership)
    level = (
        AccessLevel.DEPERSONALISED
        if decision.allows(AccessLevel.DEPERSONALISED)
        else AccessLevel.AGGREGATE
    )
    try:
        scope = record_scope(
            user=user, dataset=dataset, level=level, route=route, partnership=partnership,
            ip_address=ip_address,
        )  # fmt: skip
    except AccessRefused as refusal:
        raise Http404("No such dataset.") from refusal
    today = timezone.localdate()
    end = _date(params, "period_end", today)
    start = _date(params, "period_start", end - datetime.timedelta(days=365))
    problem = period_invalid(start, end)
    if problem:
        raise FilterInvalid(problem)
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
    query = scope.query(
        period=(start, end),
        area={"districts": _list(params, "districts")} if params.get("districts") else {},
        weekdays=weekdays,
        hours=hours,
        category=category,
    )
    return WorkspaceQuery(dataset=dataset, decision=decision, scope=scope, query=query)


# -- saved queries ----------------------------------------------------------------------------

VIEW_URLS = {
    WorkspaceView.MAP: "workspace-map",
    WorkspaceView.COUNTS: "workspace-counts",
    WorkspaceView.LINKED: "workspace-linked",
    WorkspaceView.COMPARE: "workspace-compare",
}
# Filters a saved query keeps; anything else in the query string is ignored.
SAVED_PARAMS = {"dataset", "partnership", "period_start", "period_end", "districts",
                "weekdays", "hour_from", "hour_to", "category", "values", "hex",
                "breakdown"}  # fmt: skip


def saved_query_create(
    *, owner: User, name: str, view: str, params: QueryDict, months: int | None, shared: bool
) -> SavedQuery:
    agency, _ = analyst_standing(user=owner, partnership=partnership_chosen(params))
    if agency is None:
        raise FilterInvalid("Only analysts save queries.")
    if view not in VIEW_URLS:
        raise FilterInvalid(f"{view!r} is not a workspace view.")
    kept = {key: params[key] for key in SAVED_PARAMS if params.get(key)}
    if months is not None:
        kept.pop("period_start", None)
        kept.pop("period_end", None)
    saved = SavedQuery.objects.create(
        owner=owner, agency=agency, name=name.strip()[:200] or "Untitled", view=view,
        params=kept, months=months, shared=shared,
    )  # fmt: skip
    audit_record(actor=owner, action="query_saved", agency=agency, target=saved,
                 detail={"view": view, "params": kept, "shared": shared})  # fmt: skip
    return saved


def saved_query_delete(*, saved: SavedQuery, acting_user: User) -> None:
    if saved.owner_id != acting_user.pk:
        raise FilterInvalid("Only its owner can delete a saved query.")
    audit_record(
        actor=acting_user, action="query_deleted", target=saved, detail={"name": saved.name}
    )
    saved.delete()


def saved_query_url(*, saved: SavedQuery, today: datetime.date | None = None) -> str:
    """The view's address with the saved filters; a rolling period ends with last month."""
    params = dict(saved.params)
    if saved.months:
        end = (today or timezone.localdate()).replace(day=1) - datetime.timedelta(days=1)
        start = end.replace(day=1)
        for _ in range(saved.months - 1):
            start = (start - datetime.timedelta(days=1)).replace(day=1)
        params.update(period_start=start.isoformat(), period_end=end.isoformat())
    return reverse(VIEW_URLS[saved.view]) + "?" + urlencode(params)


# -- the dataset explorer ---------------------------------------------------------------------


def dataset_exploration(
    *, user: User, dataset: Dataset, params: QueryDict, ip_address: str | None = None
) -> dict:
    """What makes up a dataset the user may see: its current supplies with their quality and
    caveats, and its records per month (small numbers suppressed, as everywhere). Audited;
    a dataset the user may not see is a 404, its refusal audited by the gate."""
    chosen = QueryDict(mutable=True)
    chosen.update({"partnership": params["partnership"]} if params.get("partnership") else {})
    workspace = workspace_query(
        user=user, params=chosen, route="explorer", dataset=dataset, ip_address=ip_address
    )
    partnership_id = workspace.query.partnership_id
    supplies = workspace.query.current_supply_list().select_related("agency")
    supplies = supplies.order_by("-period_start")
    months = (
        Record.objects.filter(dataset=dataset, partnership_id=partnership_id, supply__in=supplies)
        .annotate(month=TruncMonth("event_date"))
        .values("month")
        .annotate(records=Count("id"))
        .order_by("month")
    )
    audit_record(
        actor=user, action="explorer_viewed", agency=workspace.scope.agency,
        dataset_slug=dataset.slug, detail={"level": workspace.decision.level},
        ip_address=ip_address,
    )  # fmt: skip
    threshold = settings.HUB_EXTRACT_SMALL_NUMBER
    return {
        "decision": workspace.decision,
        "threshold": threshold,
        "supplies": [
            {
                "supply": supply,
                "rejected_percent": _percent(supply.rejected_count, supply.record_count),
                "located_percent": _percent(
                    (supply.accepted_count or 0)
                    - supply.report.get("locations", {}).get("unlocated", 0),
                    supply.accepted_count,
                ),
            }
            for supply in supplies
        ],
        "months": [
            (row["month"], row["records"] if row["records"] >= threshold else f"<{threshold}")
            for row in months
        ],
    }


def _percent(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None
