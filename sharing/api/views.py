from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import selectors as dataset_selectors
from sharing import selectors, services
from sharing.api.serializers import ExtractCreateInputSerializer, ExtractOutputSerializer
from sharing.extracts import ExtractRefused


def download_response(*, request, extract) -> StreamingHttpResponse:
    """The extract's file, decrypted as it streams; shared by the page and the API."""
    try:
        stream = services.extract_download(
            extract=extract, acting_user=request.user, ip_address=request.META.get("REMOTE_ADDR")
        )
    except ExtractRefused as refusal:
        raise NotFound(str(refusal)) from refusal
    content_type = {
        "csv": "application/zip",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "geojson": "application/geo+json",
    }[extract.file_format]
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{extract.file_name}"'
    response["Cache-Control"] = "no-store"
    return response


class ExtractListCreateApi(APIView):
    @extend_schema(responses=ExtractOutputSerializer(many=True))
    def get(self, request):
        """Your extracts, newest first."""
        extracts = selectors.extract_restrict(user=request.user)[:200]
        return Response(ExtractOutputSerializer(extracts, many=True).data)

    @extend_schema(request=ExtractCreateInputSerializer, responses={201: ExtractOutputSerializer})
    def post(self, request):
        """Ask for an extract; 403 with the reason if your access does not allow it."""
        serializer = ExtractCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        dataset = dataset_selectors.dataset_get(slug=data.pop("dataset"))
        linked_slug = data.pop("linked_dataset", None)
        linked = dataset_selectors.dataset_get(slug=linked_slug) if linked_slug else None
        try:
            extract = services.extract_request(
                acting_user=request.user,
                dataset=dataset,
                linked_dataset=linked,
                file_format=data.pop("format"),
                ip_address=request.META.get("REMOTE_ADDR"),
                **data,
            )
        except ExtractRefused as refusal:
            raise PermissionDenied(str(refusal)) from refusal
        return Response(ExtractOutputSerializer(extract).data, status=status.HTTP_201_CREATED)


class ExtractDetailApi(APIView):
    @extend_schema(responses=ExtractOutputSerializer)
    def get(self, request, extract_id):
        extract = selectors.extract_get(user=request.user, extract_id=extract_id)
        return Response(ExtractOutputSerializer(extract).data)


class ExtractDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, extract_id):
        """The extract's file: CSV as a ZIP with its metadata, XLSX or GeoJSON."""
        extract = selectors.extract_get(user=request.user, extract_id=extract_id)
        return download_response(request=request, extract=extract)
