"""The workspace's areas: the area picker's search, and counts or rates by ward, LSOA, MSOA,
local authority or postcode district with their choropleth, as a page and a CSV. Thin:
sharing.workspace.filters reads the filters and decides access, sharing.workspace.areas counts,
classes and leaves out what sharing.disclosure does not release."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from sanitise.choices import AreaKind
from sharing.access import analyst_standing
from sharing.disclosure import counts_note, release_labelled
from sharing.views.counts import (
    AREA_KIND_CHOICES,
    areas_field,
    countable_datasets,
    dataset_asked,
    workspace_viewed,
)
from sharing.workspace.areas import (
    ATTRIBUTION,
    CLASS_METHODS,
    RATE_BASES,
    area_choices,
    area_counts,
    area_kind_get,
    area_rows,
    areas_csv,
    choropleth,
    chosen_words,
)
from sharing.workspace.filters import FilterInvalid, partnership_chosen, workspace_query

RECORDS = "records"
VALUE_CHOICES = [
    (RECORDS, "Records"),
    ("population", "Rate per 1,000 residents"),
    ("households", "Rate per 1,000 households"),
]
SEARCH_LONGEST = 100  # characters of the picker's text looked at


class AreasForm(forms.Form):
    """Only draws the filters, with what was asked filled in; sharing.workspace reads them."""

    period_start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    areas = areas_field()
    area_kind = forms.ChoiceField(required=False, label="Areas by", choices=AREA_KIND_CHOICES)
    value = forms.ChoiceField(required=False, label="Value", choices=VALUE_CHOICES)
    classes = forms.ChoiceField(
        required=False, label="Classes", choices=list(CLASS_METHODS.items())
    )

    def __init__(self, params, *, datasets):
        super().__init__(initial={"area_kind": AreaKind.WARD, **params.dict()})
        self.fields = {
            "dataset": forms.ChoiceField(choices=[(d.slug, d.name) for d in datasets]),
            **self.fields,
        }


def value_base(params) -> str | None:
    """The rate's denominator the ``value`` filter asks for, or None for records."""
    value = params.get("value") or RECORDS
    if value != RECORDS and value not in RATE_BASES:
        raise FilterInvalid("The value is records, or a rate per 1,000 residents or households.")
    return None if value == RECORDS else value


def areas_asked(request, view: str) -> dict:
    """The counts by area of the request's dataset, or the message of a bad filter, as a
    page's context (dataset, countable, result, error, workspace); audited."""
    countable = countable_datasets(request, view)
    dataset = dataset_asked(request, view, countable)
    context = {"countable": countable, "dataset": dataset, "error": "", "result": None}
    try:
        workspace = workspace_query(
            user=request.user, params=request.GET, route=view, dataset=dataset,
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        context["workspace"] = workspace
        context["result"] = area_counts(
            workspace=workspace,
            partnership=workspace.scope.agency.partnership,
            kind=area_kind_get(request.GET.get("area_kind"), default=AreaKind.WARD),
            base=value_base(request.GET),
            method=request.GET.get("classes") or "quantiles",
        )
    except FilterInvalid as error:
        context["error"] = str(error)
    workspace_viewed(request, view, dataset_slug=dataset.slug, error=context["error"])
    return context


@require_safe
@login_required
def area_search(request):
    """The picker's answer: the partnership's areas whose code or name matches ``q``. Names
    of areas only, for users who may count some dataset; anyone else gets a 404, audited."""
    countable_datasets(request, "area search")
    agency, _ = analyst_standing(user=request.user, partnership=partnership_chosen(request.GET))
    text = request.GET.get("q", "")[:SEARCH_LONGEST]
    results = area_choices(partnership=agency.partnership, text=text)
    return JsonResponse({"results": results}, headers={"Cache-Control": "no-store"})


@require_safe
@login_required
def workspace_areas(request):
    context = areas_asked(request, "areas")
    context["form"] = AreasForm(request.GET, datasets=context["countable"])
    result = context["result"]
    if result is not None:
        context["note"] = counts_note(context["workspace"].release)
        context["chosen_areas"] = chosen_words(workspace=context["workspace"])
        context["rows"] = area_rows(result=result)
        geojson = choropleth(result=result)
        context["approximate"] = any(
            feature["properties"]["approximate"] for feature in geojson["features"]
        )
        context["method_words"] = CLASS_METHODS[result.method]
        context["map_data"] = {
            "geojson": geojson,
            "legend": [{"class": k, "label": label} for k, label in result.legend_entries],
            "shown": result.shown,
            "value": result.value_words,
        }
        context["csv_query"] = request.GET.urlencode()
    context["tile_url"] = settings.HUB_MAP_TILE_URL
    context["tile_attribution"] = settings.HUB_MAP_TILE_ATTRIBUTION
    context["attribution"] = ATTRIBUTION
    status = 400 if context["error"] else 200
    response = render(request, "sharing/workspace_areas.html", context, status=status)
    if result is not None:
        return release_labelled(response, context["workspace"].release)
    return response


@require_safe
@login_required
def workspace_areas_csv(request):
    context = areas_asked(request, "areas.csv")
    if context["error"]:
        return HttpResponse(context["error"], status=400, content_type="text/plain")
    body = areas_csv(result=context["result"])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"{context['dataset'].slug}_{context['result'].kind}_areas.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return release_labelled(response, context["workspace"].release)
