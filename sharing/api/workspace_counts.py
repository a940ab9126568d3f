"""The workspace's counts by month and its cross-agency comparison, as JSON: the same answers
as the pages (sharing.views.counts), through the same access gate, audit and disclosure.

A month no current supply covers is explicit: null counts, ``supplied: false`` and listed in
``months_without_supply``; never a 0, which is a supplied month with nothing to count.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.api.serializers import (
    WorkspaceCompareOutputSerializer,
    WorkspaceCountsOutputSerializer,
)
from sharing.disclosure import RELEASE_HEADER, counts_note
from sharing.views.counts import countable_datasets, counts_asked, workspace_viewed
from sharing.workspace.compare import cross_agency_comparison
from sharing.workspace.filters import FilterInvalid

FILTERS = ("partnership", "period_start", "period_end", "districts", "areas", "weekdays",
           "hour_from", "hour_to")  # fmt: skip
COUNTS_FILTERS = ("dataset", "breakdown", "area_kind", *FILTERS, "category", "values")


class WorkspaceCountsApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, str) for name in COUNTS_FILTERS],
        responses={200: WorkspaceCountsOutputSerializer},
    )
    def get(self, request):
        """Records by month and area (and the breakdown's values), as your access releases
        them (the X-Hub-Release header says exact or perturbed). Areas are postcode districts
        unless `area_kind` is ward, lsoa, msoa or lad: then each row's `district` is the
        area's "Name (code)". Every month of the period is in `months`; one with no current
        supply has `supplied: false` and a null total, and its row in `rows` is nulls. 400
        names a bad filter; 404 if you may count nothing, or not this dataset."""
        context = counts_asked(request, "counts API")
        if context["error"]:
            raise ParseError(context["error"])
        result, workspace = context["result"], context["workspace"]
        totals = dict(result.monthly)
        body = {
            "dataset": context["dataset"].slug,
            "period_start": workspace.query.period[0],
            "period_end": workspace.query.period[1],
            "breakdown": result.breakdown,
            "area_kind": result.area_kind,
            "release": result.release.name,
            "note": counts_note(result.release),
            "columns": result.table.columns,
            "rows": [
                {"month": month, "district": district, "values": values}
                for (month, district), values in result.table.rows
            ],
            "months": [
                {
                    "month": m.month,
                    "supplied": m.supplied,
                    "state": m.state,
                    "note": m.note,
                    "total": totals[m.month],
                }
                for m in result.coverage
            ],  # fmt: skip
            "months_without_supply": result.unsupplied,
        }
        return Response(
            WorkspaceCountsOutputSerializer(body).data,
            headers={"Cache-Control": "no-store", RELEASE_HEADER: result.release.name},
        )


class WorkspaceCompareApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter(name, str) for name in FILTERS],
        responses={200: WorkspaceCompareOutputSerializer},
    )
    def get(self, request):
        """Police recorded violence, A&E assault attendances and ambulance assault call-outs
        by month (guidance §4.3.1), each series as your access releases its dataset's counts.
        A month no current supply of a series' dataset covers is null in its `values`, false
        in its `supplied` and listed in its `months_without_supply`: "no supply", not 0. A
        series you may not count says why in `refusal`. 400 names a bad filter; 404 if you may
        count nothing."""
        countable_datasets(request, "compare API")
        try:
            comparison = cross_agency_comparison(
                user=request.user, params=request.query_params,
                ip_address=request.META.get("REMOTE_ADDR"),
            )  # fmt: skip
        except FilterInvalid as error:
            workspace_viewed(request, "compare API", error=str(error))
            raise ParseError(str(error)) from error
        workspace_viewed(request, "compare API")
        release = comparison.release.name if comparison.release else None
        body = {"months": comparison.months, "release": release, "series": comparison.series}
        headers = {"Cache-Control": "no-store"}
        if release:
            headers[RELEASE_HEADER] = release
        return Response(WorkspaceCompareOutputSerializer(body).data, headers=headers)
