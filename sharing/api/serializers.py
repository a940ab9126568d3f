from django.urls import reverse
from rest_framework import serializers

from sharing.choices import ExtractFormat, ExtractStatus
from sharing.models import Extract


class AreaInputSerializer(serializers.Serializer):
    districts = serializers.ListField(
        child=serializers.CharField(max_length=4), required=False,
        help_text="Postcode districts, e.g. [\"WN1\", \"WN2\"].",
    )  # fmt: skip
    bbox = serializers.ListField(
        child=serializers.IntegerField(), min_length=4, max_length=4, required=False,
        help_text="[min easting, min northing, max easting, max northing], metres.",
    )  # fmt: skip


class ExtractCreateInputSerializer(serializers.Serializer):
    dataset = serializers.SlugField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    format = serializers.ChoiceField(choices=ExtractFormat.choices)
    level = serializers.CharField(
        required=False,
        help_text="aggregate, depersonalised or personal (under an approved personal-data "
        "request); the highest short of personal you hold if absent.",
    )
    fields = serializers.ListField(child=serializers.CharField(), required=False)
    area = AreaInputSerializer(required=False)
    linked_dataset = serializers.SlugField(
        required=False, help_text="A dataset linked to this one, e.g. police_crime_victim."
    )
    category = serializers.CharField(required=False, allow_blank=True, default="")
    partnership = serializers.SlugField(
        required=False, help_text="For a user of several partnerships: whose data (its slug)."
    )
    data_request = serializers.IntegerField(
        required=False,
        help_text="Personal level: the id of the approved request the extract is made under "
        "(needed only when you hold several for the dataset).",
    )


class ExtractOutputSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    dataset = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Extract
        fields = ["id", "dataset", "level", "status", "progress", "row_count", "download_url",
                  "expires_at"]  # fmt: skip

    def get_download_url(self, extract) -> str | None:
        if extract.status != ExtractStatus.COMPLETED:
            return None
        return reverse("api-extract-download", args=[extract.pk])
