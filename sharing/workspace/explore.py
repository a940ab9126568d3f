"""The dataset explorer: what makes up a dataset the analyst may see."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import QueryDict

from datasets.models import Dataset, Record
from hub.models import User
from hub.services import audit_record
from sharing.workspace.filters import workspace_query

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
