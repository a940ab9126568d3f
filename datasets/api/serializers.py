from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from datasets.choices import ScheduleStatus, SupplyFrequency, SupplyStatus
from datasets.models import Dataset, Supply


class FieldOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    # ``class`` is a Python keyword; the API contract names the key "class".
    class_ = serializers.CharField(source="field_class")
    enum = serializers.ListField(child=serializers.CharField(), required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["class"] = fields.pop("class_")
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not data["enum"]:
            del data["enum"]
        return data


class DatasetOutputSerializer(serializers.ModelSerializer):
    fields = FieldOutputSerializer(source="schema.fields", many=True)

    class Meta:
        model = Dataset
        fields = ["slug", "name", "section", "tier", "kind", "fields"]


class SupplyCreateInputSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The file; none for a nil return.")
    nil_return = serializers.BooleanField(
        required=False,
        default=False,
        help_text="True, with no file, when the agency had nothing to report for the period: "
        "it counts as supplied, and a later file for the period replaces it.",
    )
    dataset = serializers.SlugField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    supplier_name = serializers.CharField(max_length=200)
    supplier_contact = serializers.CharField(max_length=200)
    caveats = serializers.CharField(required=False, allow_blank=True, default="")
    field_notes = serializers.CharField(required=False, allow_blank=True, default="")
    coding_systems = serializers.CharField(required=False, allow_blank=True, default="")
    geocoding_method = serializers.CharField(required=False, allow_blank=True, default="")
    declared_record_count = serializers.IntegerField(required=False, min_value=0, allow_null=True)
    agency = serializers.IntegerField(
        required=False, help_text="Only for a user who supplies for several agencies."
    )

    def validate(self, data):
        if data.get("nil_return") and data.get("file"):
            raise serializers.ValidationError({"file": ["A nil return has no file."]})
        if not data.get("nil_return") and not data.get("file"):
            raise serializers.ValidationError(
                {"file": ["Send the file, or nil_return=true if there is nothing to report."]}
            )
        return data


class SupplyWithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=1000, help_text="Why the supply is withdrawn; the co-ordinator is told."
    )


class SupplyCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()


# The contract's statuses. Supplies are now checked, geocoded, sanitised and loaded in one
# pass, shown as loading: validating, geocoding and sanitising no longer occur, and are kept
# so that clients built to the contract still accept every status it names.
CONTRACT_STATUSES = [
    SupplyStatus.QUEUED, "validating", "geocoding", "sanitising", SupplyStatus.LOADING,
    SupplyStatus.COMPLETED, SupplyStatus.REJECTED, SupplyStatus.FAILED, SupplyStatus.WITHDRAWN,
]  # fmt: skip


class SupplyOutputSerializer(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    agency = serializers.PrimaryKeyRelatedField(read_only=True)
    status = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=CONTRACT_STATUSES))
    def get_status(self, supply) -> str:
        # The API's statuses are the contract's: the brief report stage after the load
        # shows as loading until the supply is completed.
        return SupplyStatus.LOADING if supply.status == SupplyStatus.REPORTING else supply.status

    class Meta:
        model = Supply
        fields = [
            "id",
            "dataset",
            "agency",
            "period_start",
            "period_end",
            "status",
            "progress",
            "record_count",
            "accepted_count",
            "rejected_count",
            "nil_return",
        ]


class SupplyReportSerializer(serializers.Serializer):
    """The supply's report: what was accepted, rejected, dropped and how records were located."""

    errors = serializers.ListField(child=serializers.DictField(), default=list)
    error_counts = serializers.DictField(child=serializers.IntegerField(), default=dict)
    warnings = serializers.ListField(child=serializers.DictField(), default=list)
    warning_counts = serializers.DictField(child=serializers.IntegerField(), default=dict)
    problems = serializers.ListField(child=serializers.CharField(), default=list)
    dropped_columns = serializers.ListField(child=serializers.CharField(), default=list)
    header_mapping = serializers.DictField(
        child=serializers.CharField(),
        default=dict,
        help_text="Each of the file's columns that was read, as named in the file, and the "
        "dataset field it was read as.",
    )
    completeness = serializers.DictField(child=serializers.FloatField(), default=dict)
    locations = serializers.DictField(child=serializers.IntegerField(), default=dict)
    currency_days = serializers.IntegerField(allow_null=True, default=None)
    received = serializers.IntegerField(allow_null=True, default=None)
    accepted = serializers.IntegerField(allow_null=True, default=None)
    rejected = serializers.IntegerField(allow_null=True, default=None)
    superseded = serializers.ListField(child=serializers.CharField(), default=list)


class ScheduleRowOutputSerializer(serializers.Serializer):
    """A supply schedule and where its latest ended period stands."""

    agency = serializers.IntegerField(source="schedule.agency_id")
    agency_name = serializers.CharField(source="schedule.agency.name")
    dataset = serializers.CharField(source="schedule.dataset.slug")
    frequency = serializers.ChoiceField(
        choices=SupplyFrequency.choices, source="schedule.frequency"
    )
    due_day = serializers.IntegerField(source="schedule.due_day")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    due_date = serializers.DateField()
    status = serializers.ChoiceField(choices=ScheduleStatus.choices)
    supply = serializers.UUIDField(
        source="supply.pk", allow_null=True, help_text="The supply that decides the status."
    )
    supplied_at = serializers.DateTimeField(source="supply.created_at", allow_null=True)
    reminded = serializers.BooleanField(help_text="Whether the suppliers were reminded.")
