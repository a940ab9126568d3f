from django.urls import reverse
from rest_framework import serializers

from datasets.choices import MonthCoverage
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
    areas = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=500,
        help_text="Wards, LSOAs, MSOAs, local authorities or postcode districts, each by ONS "
        "code or name, e.g. [\"E05014989\", \"Wigan 026A\"]. An area the partnership does not "
        "have is refused with the nearest it does.",
    )  # fmt: skip
    wards = serializers.ListField(child=serializers.CharField(max_length=9), required=False)
    lsoas = serializers.ListField(child=serializers.CharField(max_length=9), required=False)
    msoas = serializers.ListField(child=serializers.CharField(max_length=9), required=False)
    local_authorities = serializers.ListField(
        child=serializers.CharField(max_length=9), required=False
    )


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


# -- the workspace's counts and comparison ----------------------------------------------------
# A month no current supply covers has nothing to count: its count is null and its `supplied`
# false ("no supply"), never 0. A supplied month with nothing to count is 0 (a nil return
# included: the agency supplied, and had nothing to report).

NO_SUPPLY_HELP = (
    "Whether any current supply of the dataset covers the month. false: no supply, so there "
    "is nothing to count and the month's counts are null, never 0; a month that was supplied "
    "with nothing to count is 0."
)


class MonthSupplyOutputSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM.")
    supplied = serializers.BooleanField(help_text=NO_SUPPLY_HELP)
    coverage = serializers.ChoiceField(
        choices=MonthCoverage.choices, source="state",
        help_text="supplied; partial (some of the agencies scheduled to supply the dataset "
        "did not: its counts are of what was supplied); none (no supply).",
    )  # fmt: skip
    note = serializers.CharField(
        help_text='"no supply", "partial: no supply from <agencies>", or "" when supplied.'
    )


class CountsMonthOutputSerializer(MonthSupplyOutputSerializer):
    total = serializers.IntegerField(
        allow_null=True,
        help_text="The month's total as released (exact or perturbed, as the X-Hub-Release "
        "header says); null when no supply covers the month.",
    )


class CountsRowOutputSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM.")
    district = serializers.CharField(help_text='A postcode district, or "Total".')
    values = serializers.ListField(
        child=serializers.IntegerField(allow_null=True),
        help_text="One count per column; null in a month with no supply.",
    )


class WorkspaceCountsOutputSerializer(serializers.Serializer):
    dataset = serializers.SlugField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    breakdown = serializers.CharField(allow_null=True)
    area_kind = serializers.CharField(
        help_text='The rows\' areas: "district" (postcode districts), or ward, lsoa, msoa, lad.'
    )
    release = serializers.ChoiceField(choices=["exact", "perturbed"])
    note = serializers.CharField(help_text="How the counts were released.")
    columns = serializers.ListField(
        child=serializers.CharField(), help_text="The breakdown's values, then Total."
    )
    rows = CountsRowOutputSerializer(
        many=True,
        help_text="By month and postcode district, each month's total last. A month with no "
        "supply has a Total row of nulls.",
    )
    months = CountsMonthOutputSerializer(
        many=True, help_text="Every month of the period, in order, with its supply and total."
    )
    months_without_supply = serializers.ListField(
        child=serializers.CharField(), help_text="The months (YYYY-MM) no current supply covers."
    )


class ComparisonSeriesOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    dataset = serializers.SlugField(source="dataset_slug")
    refusal = serializers.CharField(help_text="Why the series is not shown to you, or empty.")
    no_supplies = serializers.CharField(
        help_text="Set when no current supply covers any month of the period."
    )
    note = serializers.CharField(help_text="How the series' counts were released.")
    values = serializers.ListField(
        child=serializers.IntegerField(allow_null=True),
        help_text="One per month, in the order of `months`: the count as released; null where "
        "the series is not shown (see refusal) or no supply covers the month (see supplied).",
    )
    supplied = serializers.ListField(
        child=serializers.BooleanField(allow_null=True),
        help_text="One per month, beside `values`. " + NO_SUPPLY_HELP + " null for a series "
        "not shown to you.",
    )
    months_without_supply = serializers.ListField(
        child=serializers.CharField(), help_text="The months (YYYY-MM) no current supply covers."
    )
    coverage = MonthSupplyOutputSerializer(
        many=True, help_text="Each month's supply; empty for a series not shown to you."
    )


class WorkspaceCompareOutputSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.CharField(), help_text="YYYY-MM, in order.")
    release = serializers.ChoiceField(
        choices=["exact", "perturbed"], allow_null=True,
        help_text="The least of the shown series' releases; null when none is shown.",
    )  # fmt: skip
    series = ComparisonSeriesOutputSerializer(many=True)
