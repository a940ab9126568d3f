from rest_framework import serializers

from datasets.models import Dataset


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
