"""The Vulnerable Localities Index page and its CSV. Thin: sharing.workspace.vulnerability
counts through the access gate and works the index out, sharing.workspace.vli_shown shapes
what may be shown."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from sharing.disclosure import counts_note, release_labelled
from sharing.views.counts import countable_datasets, workspace_viewed
from sharing.workspace import vulnerability
from sharing.workspace.areas import CLASS_METHODS
from sharing.workspace.counts import OFFENCES
from sharing.workspace.filters import FilterInvalid
from sharing.workspace.vli import METHOD_TEXT
from sharing.workspace.vli_shown import vli_choropleth, vli_csv


def _vli_asked(request, view: str) -> dict:
    """The VLI for the request's filters, or the message of a bad filter, as a page's context
    (result, error, extras); audited. A 404 for anyone who may not count police offences."""
    countable_datasets(request, view)
    context = {"result": None, "error": ""}
    try:
        context["result"] = vulnerability.vli_asked(
            user=request.user, params=request.GET, route=view,
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
    except FilterInvalid as error:
        context["error"] = str(error)
    workspace_viewed(request, view, dataset_slug=OFFENCES, error=context["error"])
    return context


@require_safe
@login_required
def workspace_vli(request):
    context = _vli_asked(request, "vli")
    result = context["result"]
    if result is None:  # the form again, every indicator offered, none taken as asked
        context["extras"] = vulnerability.extra_choices(
            user=request.user, params=request.GET, extras={}
        )
    else:
        context["extras"] = result.extras
        context["choropleth"] = {
            "areas": vli_choropleth(result),
            "legend": result.legend,
            "tileUrl": settings.HUB_MAP_TILE_URL,
            "tileAttribution": settings.HUB_MAP_TILE_ATTRIBUTION,
            "attribution": vulnerability.ATTRIBUTION,
        }
        context["note"] = counts_note(result.release)
        context["csv_query"] = request.GET.urlencode()
    context |= {
        "params": {name: request.GET.get(name, "") for name in ("period_start", "period_end")},
        "kind": request.GET.get("kind") or "lsoa",
        "kinds": [(kind, kind.label) for kind in vulnerability.VLI_KINDS],
        "method": request.GET.get("method") or "quantiles",
        "methods": list(CLASS_METHODS.items()),
        "method_text": METHOD_TEXT,
        "attribution": vulnerability.ATTRIBUTION,
    }
    status = 400 if context["error"] else 200
    response = render(request, "sharing/workspace_vli.html", context, status=status)
    return release_labelled(response, result.release) if result is not None else response


@require_safe
@login_required
def workspace_vli_csv(request):
    context = _vli_asked(request, "vli.csv")
    if context["error"]:
        return HttpResponse(context["error"], status=400, content_type="text/plain")
    result = context["result"]
    response = HttpResponse(vli_csv(result), content_type="text/csv; charset=utf-8")
    name = f"vli_{result.kind}_{result.period[0]:%Y%m%d}_{result.period[1]:%Y%m%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return release_labelled(response, result.release)
