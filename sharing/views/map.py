"""The hotspot map's page: only the filter form and the map's frame; every number
comes from the API (sharing.api.workspace_map).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe

from hub.access import refuse
from sharing.access import acting_partnership
from sharing.choices import AccessLevel
from sharing.workspace.map import ATTRIBUTION, FILTERS, HEX_DEFAULT, HEX_FIXED, map_choices

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


def _api_query(params: QueryDict, dataset_slug: str) -> str:
    """The page's filters as the API takes them: days of the week as one comma-separated
    value, as the form's checkboxes send one value each."""
    query = QueryDict(mutable=True)
    for name in FILTERS:
        if name == "weekdays":
            value = ",".join(params.getlist("weekdays"))
        else:
            value = params.get(name, "").strip()
        if value:
            query[name] = value
    query["dataset"] = dataset_slug
    return query.urlencode()


@require_safe
@login_required
def workspace_map_page(request):
    choices = map_choices(user=request.user, params=request.GET)
    if choices is None:
        refuse(
            user=request.user, route="map page", reason="No dataset is yours to map.",
            partnership=acting_partnership(user=request.user),
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        raise Http404("No such page.")
    return render(
        request,
        "sharing/workspace_map.html",
        {
            "choices": choices,
            "aggregate": AccessLevel.AGGREGATE,
            # Plain strings: a QueryDict in a template answers "values" with its method.
            "filters": {name: request.GET.get(name, "") for name in FILTERS},
            "weekdays": [
                (number, label, str(number) in request.GET.getlist("weekdays"))
                for number, label in WEEKDAYS
            ],
            "hex_choices": HEX_FIXED,
            "hex_chosen": request.GET.get("hex") or str(HEX_DEFAULT),
            "api_query": _api_query(request.GET, choices.dataset.slug),
            "tile_url": settings.HUB_MAP_TILE_URL,
            "tile_attribution": settings.HUB_MAP_TILE_ATTRIBUTION,
            "attribution": ATTRIBUTION,
            "small_number": settings.HUB_EXTRACT_SMALL_NUMBER,
        },
    )
