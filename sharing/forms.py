from django import forms

from datasets.forms import DateInput
from sharing.choices import AccessLevel, ExtractFormat
from sharing.extracts import category_fields, linkable, record_fields


class ExtractForm(forms.Form):
    """The extract builder for one dataset: the choices are what the analyst's access allows."""

    level = forms.ChoiceField(widget=forms.RadioSelect)
    period_start = forms.DateField(label="Events from", widget=DateInput)
    period_end = forms.DateField(label="Events to", widget=DateInput)
    districts = forms.CharField(
        label="Postcode districts", required=False,
        help_text="E.g. WN1, WN2. Leave empty for the whole partnership.",
    )  # fmt: skip
    fields = forms.MultipleChoiceField(
        label="Fields", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every field you may have.",
    )  # fmt: skip
    linked_dataset = forms.ChoiceField(
        label="Join with", required=False, help_text="Records only: adds the linked file's fields."
    )
    category = forms.ChoiceField(
        label="Break counts down by", required=False, help_text="Aggregate counts only."
    )
    file_format = forms.ChoiceField(label="Format", choices=ExtractFormat.choices)

    def __init__(self, *args, dataset, decision, **kwargs):
        super().__init__(*args, **kwargs)
        levels = [AccessLevel.AGGREGATE] + (
            [AccessLevel.DEPERSONALISED] if decision.allows(AccessLevel.DEPERSONALISED) else []
        )
        self.fields["level"].choices = [(level, AccessLevel(level).label) for level in levels]
        self.fields["level"].initial = levels[-1]
        self.fields["fields"].choices = [(name, name) for name in record_fields(dataset.schema)]
        self.fields["linked_dataset"].choices = [("", "Nothing")] + [
            (linked.slug, f"{linked.name} (by its link to this dataset)")
            for linked in linkable(dataset)
        ]
        self.fields["category"].choices = [("", "Nothing: month and area only")] + [
            (name, name) for name in category_fields(dataset.schema)
        ]

    def clean_districts(self):
        text = self.cleaned_data["districts"]
        return [part.strip().upper() for part in text.replace(";", ",").split(",") if part.strip()]
