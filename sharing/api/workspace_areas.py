"""The workspace's counts and rates by area with their choropleth, as JSON: the same answer as
the areas page (sharing.views.areas), through the same access gate, audit and disclosure."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.disclosure import RELEASE_HEADER, counts_note
from sharing.views.areas import areas_asked
from sharing.workspace.areas import area_rows, choropleth

AREAS_FILTERS = ("dataset", "partnership", "period_start", "period_end", "areas", "area_kind",
                 "value", "classes", "districts", "weekdays", "hour_from", "hour_to",
                 "category", "values")  # fmt: skip


class WorkspaceAreasApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, str) for name in AREAS_FILTERS],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """Records per area (`area_kind`: ward by default, lsoa, msoa, lad or district) over
        the period, or rates per 1,000 residents or households (`value`: records, population
        or households), each area with its class (`classes`: quantiles or natural), and the
        areas' boundaries as GeoJSON (WGS84). Where your access gives counts only, rows and
        features carry the class alone, with no count or rate (`shown` is false). The
        X-Hub-Release header says how the counts were released. 400 names a bad filter (an
        unknown area with the nearest ones); 404 if you may count nothing, or not this
        dataset."""
        context = areas_asked(request, "areas API")
        if context["error"]:
            raise ParseError(context["error"])
        result, workspace = context["result"], context["workspace"]
        body = {
            "dataset": context["dataset"].slug,
            "period_start": workspace.query.period[0],
            "period_end": workspace.query.period[1],
            "kind": result.kind,
            "value": result.base or "records",
            "value_words": result.value_words,
            "classes": result.method,
            "release": workspace.release.name,
            "note": counts_note(workspace.release),
            "shown": result.shown,
            "synthetic_statistics": result.synthetic,
            "unplaced": result.unplaced,
            "legend": [{"class": k, "label": label} for k, label in result.legend_entries],
            "rows": area_rows(result=result),
            "geojson": choropleth(result=result),
        }
        if not result.shown:
            body.pop("unplaced")
        return Response(
            body, headers={"Cache-Control": "no-store", RELEASE_HEADER: workspace.release.name}
        )
