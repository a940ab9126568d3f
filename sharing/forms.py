from django import forms
from django.conf import settings
from django.urls import reverse_lazy
from django.utils import timezone

from datasets import selectors as dataset_selectors
from datasets.forms import DateInput
from hub.choices import IspTier
from sharing import selectors
from sharing.choices import (
    AccessLevel,
    DocumentKind,
    ExtractFormat,
    FoiAnswer,
    ProtectiveMarking,
)
from sharing.disclosure import breakdown_fields, counts_release
from sharing.records import linkable, personal_fields, record_fields


class ExtractForm(forms.Form):
    """The extract builder for one dataset: the choices are what the analyst's access allows."""

    level = forms.ChoiceField(widget=forms.RadioSelect)
    period_start = forms.DateField(label="Events from", widget=DateInput)
    period_end = forms.DateField(label="Events to", widget=DateInput)
    areas = forms.CharField(
        label="Areas", required=False,
        help_text="Wards, LSOAs, MSOAs or postcode districts, by name or code, e.g. Abram, "
        "Wigan 026A, WN1. Leave empty for the whole partnership.",
        widget=forms.TextInput(attrs={
            "data-area-picker": "", "data-search-url": reverse_lazy("workspace-area-search"),
            "autocomplete": "off",
        }),
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
    data_request = forms.ModelChoiceField(
        label="Under the personal-data request", queryset=None, required=False,
        help_text="Personal data only: the extract holds exactly what the request's approval "
        "covers (its agency, period, fields and area).",
    )  # fmt: skip

    def __init__(self, *args, dataset, decision, data_requests=(), **kwargs):
        super().__init__(*args, **kwargs)
        levels = [
            level
            for level in (AccessLevel.AGGREGATE, AccessLevel.DEPERSONALISED)
            if decision.allows(level)
        ]
        names = record_fields(dataset.schema)
        if data_requests:
            levels.append(AccessLevel.PERSONAL)
            names += [name for name in personal_fields(dataset.schema) if name not in names]
            self.fields["data_request"].queryset = data_requests
            if len(data_requests) == 1:
                self.fields["data_request"].initial = data_requests[0]
        else:
            del self.fields["data_request"]
        self.fields["level"].choices = [(level, AccessLevel(level).label) for level in levels]
        # The most detailed level short of personal data, which must be chosen on purpose.
        self.fields["level"].initial = ([lv for lv in levels if lv != AccessLevel.PERSONAL]
                                        or levels)[-1]  # fmt: skip
        self.fields["fields"].choices = [(name, dataset.schema.title_of(name)) for name in names]
        self.fields["linked_dataset"].choices = [("", "Nothing")] + [
            (linked.slug, f"{linked.name} (by its link to this dataset)")
            for linked in linkable(dataset)
        ]
        self.fields["category"].choices = [("", "Nothing: month and area only")] + [
            (name, dataset.schema.title_of(name))
            for name in breakdown_fields(dataset.schema, counts_release(decision))
        ]

    def clean_areas(self):
        text = self.cleaned_data["areas"]
        return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


# A date input's value must be ISO 8601 whatever the locale's display format.
ISO_DATE = "%Y-%m-%d"


def _document_file_help() -> str:
    limit = settings.HUB_MAX_UPLOAD_BYTES // (1024 * 1024)
    return (
        "PDF, Word (.docx), Excel (.xlsx), PowerPoint (.pptx), OpenDocument text (.odt), CSV or "
        f"plain text (.txt), up to {limit} MB. Stored encrypted."
    )


class DocumentForm(forms.Form):
    """A new document for the library: what it is, its marking, its audience and its file."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(label="Kind of product", choices=DocumentKind.choices)
    marking = forms.ChoiceField(
        label="Protective marking",
        choices=ProtectiveMarking.choices,
        initial=ProtectiveMarking.OFFICIAL_SENSITIVE,
        help_text="Intelligence products are usually OFFICIAL-SENSITIVE (the guidance's "
        "RESTRICTED): for their intended audience only.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    audience_tiers = forms.MultipleChoiceField(
        label="Every partner signed in the tier",
        choices=[(IspTier.CORE, "Core tier"), (IspTier.ASSOCIATE, "Associate tier")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Choose a tier, named agencies, or both. Associate partners receive "
        "depersonalised information only: address a product to them only if it holds no "
        "personal data.",
    )
    audience_agencies = forms.ModelMultipleChoiceField(
        label="Named agencies",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Current ISP signatories only: no other agency would see it.",
    )
    file = forms.FileField()

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        agencies = selectors.document_audience_agencies(partnership=partnership)
        self.fields["audience_agencies"].queryset = agencies
        self.fields["file"].help_text = _document_file_help()

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("audience_tiers") and not cleaned.get("audience_agencies"):
            self.add_error(None, "Choose who may read it: a tier, named agencies, or both.")
        return cleaned


class DocumentVersionForm(forms.Form):
    file = forms.FileField(label="New version")
    note = forms.CharField(label="What changed", max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _document_file_help()


class FoiRequestForm(forms.Form):
    """An FOI request that touches a partner's information, for consultation (§2.4.2.4)."""

    reference = forms.CharField(
        max_length=60, help_text="The reference of the body that received the request."
    )
    received_on = forms.DateField(widget=DateInput(format=ISO_DATE))
    requester = forms.CharField(
        max_length=200,
        help_text="Who asked, in general terms (e.g. a journalist, a member of the public). "
        "No name or contact details: the consultation does not need them.",
    )
    request_text = forms.CharField(label="What is asked", widget=forms.Textarea(attrs={"rows": 5}))
    originating_agency = forms.ModelChoiceField(
        label="Agency the information came from",
        queryset=None,
        help_text="Its DLO is e-mailed and must answer before anything is released.",
    )
    datasets = forms.ModelMultipleChoiceField(
        label="Datasets it touches (optional)",
        queryset=None,
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["originating_agency"].queryset = partnership.agencies.all()
        self.fields["datasets"].queryset = dataset_selectors.dataset_list()

    def clean_received_on(self):
        received_on = self.cleaned_data["received_on"]
        if received_on > timezone.localdate():
            raise forms.ValidationError("The request cannot have been received in the future.")
        return received_on


class FoiAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label="Your answer", choices=FoiAnswer.choices, widget=forms.RadioSelect
    )
    reasons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Which redactions, or why you object (an FOI exemption, harm to an "
        "investigation, personal data). Optional if you simply agree.",
    )

    def clean(self):
        cleaned = super().clean()
        answer = cleaned.get("answer")
        if answer and answer != FoiAnswer.AGREE and not cleaned.get("reasons", "").strip():
            self.add_error("reasons", "Say which redactions are needed, or why you object.")
        return cleaned


class FoiReleaseForm(forms.Form):
    released_on = forms.DateField(label="Released on", widget=DateInput(format=ISO_DATE))
    objection_acknowledged = forms.BooleanField(
        error_messages={"required": "Tick this to release over the objection."}
    )
    objection_reason = forms.CharField(
        label="Why the partnership releases anyway",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the partnership releases regardless."},
    )

    def __init__(self, *args, foi, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("released_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        if foi.answer == FoiAnswer.OBJECT:
            acknowledged = self.fields["objection_acknowledged"]
            acknowledged.label = f"I acknowledge that {foi.originating_agency} objected"
        else:
            # Only an objection needs acknowledging; the fields would only confuse otherwise.
            del self.fields["objection_acknowledged"]
            del self.fields["objection_reason"]
