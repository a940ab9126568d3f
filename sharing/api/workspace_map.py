"""The hotspot map's JSON endpoint. Every number the map page draws comes from here,
which decides what the user's access allows (sharing/workspace/map.py).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.disclosure import RELEASE_HEADER
from sharing.workspace.filters import FilterInvalid
from sharing.workspace.map import FILTERS, map_view


class WorkspaceMapApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=name == "dataset") for name in FILTERS],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """Hexagons, points and the partnership's outline for the filters, in WGS84.

        Without precise locations (aggregate level, or an associate-tier agency) the hexagons
        carry an intensity class only (no counts, no points, none whose count as released is
        under the small number), of the fixed sizes; 400 names a bad filter; a dataset you may
        not see is 404. The X-Hub-Release header says how the counts were released.
        """
        try:
            layers = map_view(
                acting_user=request.user,
                params=request.query_params,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except FilterInvalid as error:
            raise ParseError(str(error)) from error
        return Response(
            layers, headers={"Cache-Control": "no-store", RELEASE_HEADER: layers["release"]}
        )
