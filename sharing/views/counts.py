"""Pages of the analyst's workspace that count: over time and by area, the linked crime view and
the cross-agency comparison. Thin: sharing.workspace.filters reads the filters and decides access,
sharing.workspace's counts, linked and compare count, sharing.disclosure releases,
datasets.charts draws."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from datasets import selectors as dataset_selectors
from datasets.charts import Series, bar_chart
from datasets.models import Dataset
from hub.access import refuse
from hub.models import Partnership
from hub.services import audit_record
from sanitise.areas import KIND_WORDS
from sharing.access import access_decisions, acting_partnership, analyst_standing
from sharing.disclosure import COUNTS_ONLY, breakdown_fields, counts_note, release_labelled
from sharing.workspace import compare, counts, linked
from sharing.workspace.areas import AREA_KINDS, area_kind_get, chosen_words
from sharing.workspace.filters import FilterInvalid, partnership_chosen, workspace_query

# The query string's filters, as recorded in the audit trail.
FILTERS = ("dataset", "breakdown", "period_start", "period_end", "districts", "areas",
           "area_kind", "weekdays", "hour_from", "hour_to", "category", "values", "value",
           "classes", "kind", "method")  # fmt: skip
AREA_KIND_CHOICES = [(kind, KIND_WORDS[kind]) for kind in AREA_KINDS]


def areas_field() -> forms.CharField:
    """The areas filter: plain text (codes, names or the picker's labels, comma-separated),
    which static/hub/area-picker.js turns into a search-as-you-type picker."""
    return forms.CharField(
        required=False,
        label="Areas",
        help_text="Wards, LSOAs, MSOAs, local authorities or postcode districts, e.g. Abram, WN1",
        widget=forms.TextInput(
            attrs={
                "data-area-picker": "",
                "data-search-url": reverse_lazy("workspace-area-search"),
                "autocomplete": "off",
            }
        ),
    )


class FilterForm(forms.Form):
    """Only draws the filters, with what was asked filled in; sharing.workspace.filters reads
    them."""

    period_start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    districts = forms.CharField(required=False, help_text="Postcode districts, e.g. WN1, WN2")
    areas = areas_field()
    weekdays = forms.CharField(required=False, help_text="1 (Monday) to 7, e.g. 6, 7")
    hour_from = forms.IntegerField(required=False, min_value=0, max_value=24)
    hour_to = forms.IntegerField(
        required=False, min_value=0, max_value=24, help_text="21 to 4 is the night"
    )

    def __init__(self, params, *, datasets=None, breakdowns=None, categories=None):
        super().__init__(initial=params.dict())
        if datasets is not None:
            self.fields = {
                "dataset": forms.ChoiceField(choices=[(d.slug, d.name) for d in datasets]),
                "breakdown": forms.ChoiceField(required=False, choices=[("", "None"), *breakdowns]),
                "area_kind": forms.ChoiceField(
                    required=False, label="Count by area", choices=AREA_KIND_CHOICES
                ),
                **self.fields,
            }
        if categories is not None:
            self.fields["category"] = forms.ChoiceField(
                required=False, choices=[("", "None"), *categories],
                label="Keep only records whose",
            )  # fmt: skip
            self.fields["values"] = forms.CharField(
                required=False, help_text="is one of, e.g. 105A, 105B"
            )


def countable_datasets(request, view: str) -> list[Dataset]:
    """The datasets the user may at least count; none (not an analyst, or no signed ISP) is a
    404 on every page here (and on the API's counts and comparison), as for anything else the
    user may not see, audited."""
    datasets = list(dataset_selectors.dataset_list().order_by("name"))
    reason = "The catalogue holds no dataset."
    try:
        decisions = access_decisions(
            user=request.user, datasets=datasets, partnership=partnership_chosen(request.GET)
        )
    except FilterInvalid as error:
        decisions, reason = {}, str(error)
    countable = [d for d in datasets if d.pk in decisions and decisions[d.pk].allows("aggregate")]
    if not countable:
        reason = next(iter(decisions.values())).reason if decisions else reason
        refuse(
            user=request.user, route=view, reason=reason,
            partnership=_acting_partnership(request),
            dataset_slug=request.GET.get("dataset", ""), ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        raise Http404("No such page.")
    return countable


def _acting_partnership(request) -> Partnership | None:
    """The partnership a refusal here belongs to: the one named, else the one the user acts in."""
    try:
        chosen = partnership_chosen(request.GET)
    except FilterInvalid:
        chosen = None
    return acting_partnership(user=request.user, partnership=chosen)


def workspace_viewed(request, view: str, *, dataset_slug: str = "", error: str = "") -> None:
    """The audit entry of a counting page or API answer, with the filters it was asked."""
    try:
        partnership = partnership_chosen(request.GET)
    except FilterInvalid:
        partnership = None
    agency, _ = analyst_standing(user=request.user, partnership=partnership)
    filters = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    # The VLI's local indicators and their weights (weight_<name>).
    if request.GET.getlist("extras"):
        filters["extras"] = ",".join(request.GET.getlist("extras"))
    filters |= {
        name: request.GET[name]
        for name in sorted(request.GET)
        if name.startswith("weight_") and request.GET[name]
    }
    detail = {"view": view, "filters": filters, **({"error": error} if error else {})}
    audit_record(
        actor=request.user, action="workspace_viewed", agency=agency, dataset_slug=dataset_slug,
        detail=detail, ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip


def _breakdowns(dataset: Dataset, workspace) -> list[tuple[str, str]]:
    """The fields the form offers to break down or filter by, with their titles: as the
    user's release allows, or coded fields only when the filters gave no workspace."""
    release = workspace.release if workspace else COUNTS_ONLY
    return [
        (name, dataset.schema.title_of(name)) for name in breakdown_fields(dataset.schema, release)
    ]


def _svg(markup: str):
    # datasets.charts builds the chart from escaped labels and numbers only, so it is safe markup.
    return mark_safe(markup)  # noqa: S308


def _chart_title(dataset: Dataset, params) -> str:
    """The chart's title says which records it counts, the category filter included."""
    title = f"{dataset.name}: records by month"
    if params.get("category") and params.get("values"):
        title += f", {params['category']} is {params['values']}"
    return title


def _legend_note(series: compare.ComparisonSeries) -> str:
    if series.refusal:
        return " (not available to you)"
    return " (no supplies)" if series.no_supplies else ""


def _compare_rows(comparison: compare.Comparison) -> list[tuple[str, list[tuple]]]:
    """The comparison's table: each month with, for each series, (value, the month's supply or
    None where the series is not shown)."""
    return [
        (month, [(one.values[index], one.coverage[index] if one.coverage else None)
                 for one in comparison.series])
        for index, month in enumerate(comparison.months)
    ]  # fmt: skip


def dataset_asked(request, view: str, countable: list[Dataset]) -> Dataset:
    """The request's dataset among those the user may count (the first if none is named);
    one they may not count is a 404, audited."""
    slug = request.GET.get("dataset") or countable[0].slug
    dataset = next((d for d in countable if d.slug == slug), None)
    if dataset is None:
        refuse(
            user=request.user, route=view, reason="A dataset the user may not count.",
            partnership=_acting_partnership(request), dataset_slug=slug,
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        raise Http404("No such dataset.")
    return dataset


def counts_asked(request, view: str) -> dict:
    """The counts of the request's dataset and breakdown, or the message of a bad filter, as
    a page's context (dataset, countable, result, error, workspace); audited."""
    countable = countable_datasets(request, view)
    dataset = dataset_asked(request, view, countable)
    breakdown = request.GET.get("breakdown") or None
    context = {"countable": countable, "dataset": dataset, "error": "", "result": None}
    try:
        workspace = workspace_query(
            user=request.user, params=request.GET, route=view, dataset=dataset,
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        context["workspace"] = workspace
        context["result"] = counts.workspace_counts(
            workspace=workspace, breakdown=breakdown,
            area_kind=area_kind_get(request.GET.get("area_kind")),
        )  # fmt: skip
    except FilterInvalid as error:
        context["error"] = str(error)
    workspace_viewed(request, view, dataset_slug=dataset.slug, error=context["error"])
    return context


@require_safe
@login_required
def workspace_counts(request):
    context = counts_asked(request, "counts")
    dataset, result = context["dataset"], context["result"]
    fields = _breakdowns(dataset, context.get("workspace"))
    context["form"] = FilterForm(
        request.GET, datasets=context["countable"], breakdowns=fields, categories=fields
    )
    if result is not None:
        context["note"] = counts_note(result.release)
        context["breakdown_title"] = dataset.schema.title_of(result.breakdown or "")
        months = [month for month, _ in result.monthly]
        values = [value for _, value in result.monthly]
        context["chart"] = _svg(
            bar_chart(
                chart_id="counts-chart",
                title=_chart_title(dataset, request.GET),
                labels=months,
                series=[Series(dataset.name, values, tuple(result.coverage))],
            )
        )
        context["csv_query"] = request.GET.urlencode()
        context["chosen_areas"] = chosen_words(workspace=context["workspace"])
    status = 400 if context["error"] else 200
    response = render(request, "sharing/workspace_counts.html", context, status=status)
    return release_labelled(response, result.release) if result is not None else response


@require_safe
@login_required
def workspace_counts_csv(request):
    context = counts_asked(request, "counts.csv")
    if context["error"]:
        return HttpResponse(context["error"], status=400, content_type="text/plain")
    body = counts.counts_csv(result=context["result"])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"{context['dataset'].slug}_counts.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return release_labelled(response, context["result"].release)


@require_safe
@login_required
def workspace_linked(request):
    countable_datasets(request, "linked")
    offences = dataset_selectors.dataset_get(slug=counts.OFFENCES)
    context = {"view": None, "error": ""}
    try:
        context["view"] = linked.linked_crime_view(
            user=request.user, params=request.GET, ip_address=request.META.get("REMOTE_ADDR")
        )
    except FilterInvalid as error:
        context["error"] = str(error)
    workspace = context["view"].workspace if context["view"] else None
    context["form"] = FilterForm(request.GET, categories=_breakdowns(offences, workspace))
    workspace_viewed(request, "linked", dataset_slug=offences.slug, error=context["error"])
    status = 400 if context["error"] else 200
    response = render(request, "sharing/workspace_linked.html", context, status=status)
    shown = context["view"].release if context["view"] else None
    return release_labelled(response, shown) if shown is not None else response


@require_safe
@login_required
def workspace_compare(request):
    countable_datasets(request, "compare")
    context = {"comparison": None, "error": ""}
    try:
        comparison = compare.cross_agency_comparison(
            user=request.user, params=request.GET, ip_address=request.META.get("REMOTE_ADDR")
        )
    except FilterInvalid as error:
        context["error"] = str(error)
    else:
        context["comparison"] = comparison
        context["rows"] = _compare_rows(comparison)
        context["chart"] = _svg(
            bar_chart(
                chart_id="compare-chart",
                title="Violence by month: police, A&E and ambulance",
                labels=comparison.months,
                series=[
                    Series(one.name + _legend_note(one), one.values, tuple(one.coverage))
                    for one in comparison.series
                ],
            )
        )
    context["form"] = FilterForm(request.GET)
    workspace_viewed(request, "compare", error=context["error"])
    status = 400 if context["error"] else 200
    response = render(request, "sharing/workspace_compare.html", context, status=status)
    shown = context["comparison"].release if context["comparison"] else None
    return release_labelled(response, shown) if shown is not None else response
