"""The dataset explorer: what makes up a dataset the analyst may see."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.http import QueryDict

from datasets.models import Dataset, Record
from hub.models import User
from hub.services import audit_record
from sharing.disclosure import counts_note, released
from sharing.workspace.filters import workspace_query

# -- the dataset explorer ---------------------------------------------------------------------


def dataset_exploration(
    *, user: User, dataset: Dataset, params: QueryDict, ip_address: str | None = None
) -> dict:
    """What makes up a dataset the user may see: its current supplies with their quality and
    caveats, and its records per month and per supply, released as every count is
    (sharing.disclosure). Audited; a dataset the user may not see is a 404, its refusal
    audited by the gate."""
    chosen = QueryDict(mutable=True)
    chosen.update({"partnership": params["partnership"]} if params.get("partnership") else {})
    workspace = workspace_query(
        user=user, params=chosen, route="explorer", dataset=dataset, ip_address=ip_address
    )
    partnership_id = workspace.query.partnership_id
    supplies = workspace.query.current_supply_list().select_related("agency")
    supplies = supplies.order_by("-period_start")
    records = Record.objects.filter(
        dataset=dataset, partnership_id=partnership_id, supply__in=supplies
    )
    months = list(
        records.annotate(month=TruncMonth("event_date"))
        .values("month")
        .annotate(records=Count("id"), key_sum=Sum("record_key"))
        .order_by("month")
    )
    exact = workspace.release.exact
    # A supply's own counts only to users who may see its records: a supply always has some,
    # so a perturbed count or a share of a few would say how few.
    per_supply = (
        {
            row["supply"]: row["records"]
            for row in records.values("supply").annotate(records=Count("id"))
        }
        if exact
        else {}
    )
    audit_record(
        actor=user, action="explorer_viewed", agency=workspace.scope.agency,
        dataset_slug=dataset.slug, detail={"level": workspace.decision.level},
        ip_address=ip_address,
    )  # fmt: skip
    return {
        "decision": workspace.decision,
        "release": workspace.release,
        "note": counts_note(workspace.release),
        "supplies": [
            {
                "supply": supply,
                "records": per_supply.get(supply.pk, 0) if exact else None,
                "rejected_percent": _percent(supply.rejected_count, supply.record_count)
                if exact
                else None,
                "located_percent": _percent(
                    (supply.accepted_count or 0)
                    - supply.report.get("locations", {}).get("unlocated", 0),
                    supply.accepted_count,
                )
                if exact
                else None,
            }
            for supply in supplies
        ],
        # A month shown as 0 at a perturbed level is left out, as one with no records is.
        "months": [
            (row["month"], shown) for row in months if (shown := _released(row, exact)) or exact
        ],
    }


def _released(row: dict, exact: bool) -> int:
    """A month's records, as the user's release shows a count."""
    return int(released([row["records"]], [row["key_sum"]], exact=exact)[0])


def _percent(part, whole) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None
