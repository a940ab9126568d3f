from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import selectors as dataset_selectors
from hub.models import Partnership
from sharing import access
from sharing.api.serializers import ExtractCreateInputSerializer, ExtractOutputSerializer
from sharing.disclosure import RELEASE_HEADER
from sharing.records import ExtractRefused
from sharing.services.extracts import extract_download, extract_request


def download_response(*, request, extract) -> StreamingHttpResponse:
    """The extract's file, decrypted as it streams; shared by the page and the API."""
    try:
        stream = extract_download(
            extract=extract, acting_user=request.user, ip_address=request.META.get("REMOTE_ADDR")
        )
    except ExtractRefused as refusal:
        raise Http404(str(refusal)) from refusal
    except access.AccessRefused as refusal:
        # Django's own, so that the page and the API both answer 403 with the reason.
        raise DjangoPermissionDenied(str(refusal)) from refusal
    content_type = {
        "csv": "application/zip",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "geojson": "application/geo+json",
    }[extract.file_format]
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{extract.file_name}"'
    response["Cache-Control"] = "no-store"
    # How the file's counts were released when it was made (sharing.disclosure).
    response[RELEASE_HEADER] = extract.metadata.get("release", "exact")
    return response


class ExtractListCreateApi(APIView):
    @extend_schema(responses=ExtractOutputSerializer(many=True))
    def get(self, request):
        """Your extracts, newest first."""
        extracts = access.extract_restrict(user=request.user)[:200]
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
        partnership_slug = data.pop("partnership", None)
        partnership = Partnership.objects.filter(slug=partnership_slug).first()
        if partnership_slug and partnership is None:
            raise NotFound(f"No partnership {partnership_slug!r}.")
        try:
            extract = extract_request(
                acting_user=request.user,
                dataset=dataset,
                linked_dataset=linked,
                partnership=partnership,
                data_request_id=data.pop("data_request", None),
                file_format=data.pop("format"),
                ip_address=request.META.get("REMOTE_ADDR"),
                **data,
            )
        except (ExtractRefused, access.AccessRefused) as refusal:
            raise PermissionDenied(str(refusal)) from refusal
        return Response(ExtractOutputSerializer(extract).data, status=status.HTTP_201_CREATED)


class ExtractDetailApi(APIView):
    @extend_schema(responses=ExtractOutputSerializer)
    def get(self, request, extract_id):
        extract = access.extract_get(
            user=request.user, extract_id=extract_id, route="extract API",
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        return Response(ExtractOutputSerializer(extract).data)


class ExtractDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, extract_id):
        """The extract's file: CSV as a ZIP with its metadata, XLSX or GeoJSON."""
        extract = access.extract_get(
            user=request.user, extract_id=extract_id, route="extract download API",
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        return download_response(request=request, extract=extract)
