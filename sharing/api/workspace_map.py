"""The hotspot map: its JSON endpoint and the page that draws it.

The page holds only the filter form and the map's frame; every number comes from the API,
which decides what the user's access allows (sharing/workspace/map.py).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.access import refuse
from sharing.choices import AccessLevel
from sharing.workspace.filters import FilterInvalid
from sharing.workspace.map import ATTRIBUTION, FILTERS, HEX_DEFAULT, map_choices, map_view

WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]
HEX_CHOICES = [400, 800, 1600]


class WorkspaceMapApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=name == "dataset") for name in FILTERS],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """Hexagons, points and the partnership's outline for the filters, in WGS84.

        Aggregate-level access gets hexagons with an intensity class only (no counts, no
        points, none under the small-number threshold); 400 names a bad filter; a dataset
        you may not see is 404.
        """
        try:
            layers = map_view(
                acting_user=request.user,
                params=request.query_params,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except FilterInvalid as error:
            raise ParseError(str(error)) from error
        return Response(layers, headers={"Cache-Control": "no-store"})


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
            "hex_choices": HEX_CHOICES,
            "hex_chosen": request.GET.get("hex") or str(HEX_DEFAULT),
            "api_query": _api_query(request.GET, choices.dataset.slug),
            "tile_url": settings.HUB_MAP_TILE_URL,
            "attribution": ATTRIBUTION,
            "small_number": settings.HUB_EXTRACT_SMALL_NUMBER,
        },
    )
