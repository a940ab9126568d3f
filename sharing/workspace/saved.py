"""Saved queries: a workspace view's filters kept under a name, for the analyst or their
agency."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from datasets.models import Dataset
from hub.models import User
from hub.services import audit_record
from sharing.access import (
    analyst_standing,
)
from sharing.choices import WorkspaceView
from sharing.disclosure import COUNTS_ONLY, breakdown_fields, category_values_invalid
from sharing.models import SavedQuery
from sharing.workspace.filters import FilterInvalid, listed, partnership_chosen

# -- saved queries ----------------------------------------------------------------------------

VIEW_URLS = {
    WorkspaceView.MAP: "workspace-map",
    WorkspaceView.COUNTS: "workspace-counts",
    WorkspaceView.LINKED: "workspace-linked",
    WorkspaceView.COMPARE: "workspace-compare",
    WorkspaceView.AREAS: "workspace-areas",
    WorkspaceView.VLI: "workspace-vli",
}

# Filters a saved query keeps; anything else in the query string is ignored. The listed
# ones may have several values (the map's days of the week are one checkbox each).
SAVED_PARAMS = {"dataset", "partnership", "period_start", "period_end", "hour_from",
                "hour_to", "category", "hex", "breakdown", "area_kind", "value", "classes",
                "kind", "method"}  # fmt: skip
SAVED_LISTS = {"districts", "areas", "weekdays", "values", "extras"}
# The VLI's weight of each local indicator ticked.
SAVED_PREFIXES = ("weight_",)


def saved_query_create(
    *, owner: User, name: str, view: str, params: QueryDict, months: int | None, shared: bool
) -> SavedQuery:
    agency, _ = analyst_standing(user=owner, partnership=partnership_chosen(params))
    if agency is None:
        raise FilterInvalid("Only analysts save queries.")
    if view not in VIEW_URLS:
        raise FilterInvalid(f"{view!r} is not a workspace view.")
    kept = {key: params[key] for key in SAVED_PARAMS if params.get(key)}
    kept.update({key: listed(params, key) for key in SAVED_LISTS if listed(params, key)})
    kept.update(
        {key: params[key] for key in params if key.startswith(SAVED_PREFIXES) and params[key]}
    )
    if shared and kept.get("category"):
        _shared_filter_check(kept)
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


def _shared_filter_check(kept: dict) -> None:
    """A query shared with the agency goes to colleagues who may only count, so its filter
    values must be ones they could ask for themselves: codes, never what records say."""
    dataset = Dataset.objects.filter(slug=kept.get("dataset", "")).first()
    spec = dataset.schema.by_name.get(kept["category"]) if dataset else None
    values = kept.get("values", [])
    if spec is None or spec.name not in breakdown_fields(dataset.schema, COUNTS_ONLY):
        raise FilterInvalid(
            "A query shared with your agency may filter by coded fields only; save it for "
            "yourself, or filter by a coded field."
        )
    problem = category_values_invalid(spec, values, COUNTS_ONLY)
    if problem:
        raise FilterInvalid(problem)


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
    return reverse(VIEW_URLS[saved.view]) + "?" + urlencode(params, doseq=True)
