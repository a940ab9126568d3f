import csv
import io

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import access, selectors
from datasets.api.serializers import (
    DatasetOutputSerializer,
    ScheduleRowOutputSerializer,
    SupplyCreatedSerializer,
    SupplyCreateInputSerializer,
    SupplyOutputSerializer,
    SupplyReportSerializer,
    SupplyWithdrawInputSerializer,
)
from datasets.services.supplies import (
    NIL_RETURN_FIELDS,
    supply_create,
    supply_nil_return,
)
from datasets.services.withdrawal import supply_withdraw
from hub.choices import AuditAction
from hub.models import Agency
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


class SupplyListCreateApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=SupplyOutputSerializer(many=True))
    def get(self, request):
        """The supplies you may see, newest first."""
        supplies = access.supply_restrict(user=request.user)[:200]
        return Response(SupplyOutputSerializer(supplies, many=True).data)

    @extend_schema(
        request={"multipart/form-data": SupplyCreateInputSerializer},
        responses={201: SupplyCreatedSerializer},
    )
    def post(self, request):
        """Supply a file for a dataset and period, with its §3.4 metadata; processing is queued."""
        payload = request.data  # parses the upload, which the upload handler may refuse
        refused = getattr(request, "upload_refused", None)
        if refused:
            return Response({"detail": refused}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        serializer = SupplyCreateInputSerializer(data=payload)
        if not serializer.is_valid():
            upload = request.FILES.get("file")
            if upload is not None:
                upload.discard()
            serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        upload, nil_return = data.pop("file", None), data.pop("nil_return")
        agency_id = data.pop("agency", None)
        try:
            agency = None
            if agency_id is not None:
                # An agency of a partnership the user is not in reads as one that does not
                # exist, so that a refusal naming it cannot be used to look agencies up.
                agency = Agency.objects.filter(
                    pk=agency_id, partnership__agencies__memberships__user=request.user
                ).first()
                if agency is None:
                    raise ValidationError({"agency": ["No such agency."]})
            data["agency"] = agency
            data["dataset"] = selectors.dataset_get(slug=data["dataset"])
            if nil_return:
                supply = supply_nil_return(
                    acting_user=request.user,
                    ip_address=request.META.get("REMOTE_ADDR"),
                    **{name: data[name] for name in NIL_RETURN_FIELDS},
                )
            else:
                supply = supply_create(
                    acting_user=request.user,
                    upload=upload,
                    ip_address=request.META.get("REMOTE_ADDR"),
                    **data,
                )
        except access.SupplyRefused as refusal:
            raise PermissionDenied(str(refusal)) from refusal
        except Exception:
            if upload is not None:
                upload.discard()
            raise
        return Response({"id": supply.pk, "status": supply.status}, status=status.HTTP_201_CREATED)


class SupplyDetailApi(APIView):
    @extend_schema(responses=SupplyOutputSerializer)
    def get(self, request, supply_id):
        supply = access.supply_get(
            user=request.user, supply_id=supply_id, route="supply API",
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        return Response(SupplyOutputSerializer(supply).data)


class SupplyWithdrawApi(APIView):
    @extend_schema(
        request=SupplyWithdrawInputSerializer,
        responses={
            200: SupplyOutputSerializer,
            403: OpenApiResponse(description="Not a supplier or the DLO of its agency, or a "
                                 "supply whose records do not count; `detail` says which."),
        },
    )  # fmt: skip
    def post(self, request, supply_id):
        """Withdraw a completed supply: its records leave every count, map and later
        extract, the supply it replaced (if any) counts again, and the co-ordinator is told.
        For a supplier or the DLO of the supply's agency."""
        supply = access.supply_get(
            user=request.user, supply_id=supply_id, route="supply withdraw API",
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        serializer = SupplyWithdrawInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            supply = supply_withdraw(
                supply=supply,
                acting_user=request.user,
                reason=serializer.validated_data["reason"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except access.SupplyRefused as refusal:
            raise PermissionDenied(str(refusal)) from refusal
        return Response(SupplyOutputSerializer(supply).data)


class SupplyReportApi(APIView):
    @extend_schema(responses=SupplyReportSerializer)
    def get(self, request, supply_id):
        supply = access.supply_get(
            user=request.user, supply_id=supply_id, route="supply report API",
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        return Response(SupplyReportSerializer(supply.report).data)


class ScheduleStatusApi(APIView):
    @extend_schema(
        responses={
            200: ScheduleRowOutputSerializer(many=True),
            404: OpenApiResponse(description="Neither the co-ordinator nor a supplier."),
        }
    )
    def get(self, request):
        """Each supply schedule and its latest ended period: `on_time`, `late` (supplied after
        the due date), `missing` (past the due date) or `due`. The co-ordinator gets the whole
        partnership's, a supplier their own agencies'; anyone else 404."""
        rows = selectors.schedule_status_for_user(user=request.user, today=timezone.localdate())
        return Response(ScheduleRowOutputSerializer(rows, many=True).data)
