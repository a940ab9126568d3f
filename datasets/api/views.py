import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from datasets import selectors
from datasets.api.serializers import DatasetOutputSerializer
from hub.choices import AuditAction
from hub.services import audit_record


class DatasetListApi(ListAPIView):
    """Every dataset of the catalogue with its fields."""

    serializer_class = DatasetOutputSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.dataset_list()


def template_response(*, request, slug: str) -> HttpResponse:
    """The dataset's CSV template (its header row) as a download; shared by the page and API."""
    dataset = selectors.dataset_get(slug=slug)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(selectors.template_header(dataset=dataset))
    audit_record(
        actor=request.user,
        action=AuditAction.TEMPLATE_DOWNLOAD,
        dataset_slug=dataset.slug,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{dataset.slug}_template.csv"'
    return response


class DatasetTemplateApi(APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, slug):
        """The header row a supplier's CSV file for this dataset should have."""
        return template_response(request=request, slug=slug)
