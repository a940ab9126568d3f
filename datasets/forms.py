from django import forms
from django.utils import timezone

from datasets import access, selectors
from datasets.choices import SupplyFrequency
from datasets.headers import normalise_header
from datasets.models import LAST_DUE_DAY


class DateInput(forms.DateInput):
    input_type = "date"


class SupplyForm(forms.Form):
    """The upload form: the file and the metadata of guidance §3.4."""

    agency = forms.ModelChoiceField(queryset=None, empty_label=None, help_text="Supplying for.")
    dataset = forms.ModelChoiceField(queryset=None, to_field_name="slug")
    file = forms.FileField(
        required=False,
        help_text="CSV, Excel workbook (.xlsx) or a CSV inside a ZIP; for A&E assaults, the "
        "ISTV XML submission too, whose header fills in the period.",
    )
    nil_return = forms.BooleanField(
        label="Nothing to report for this period (a nil return)",
        required=False,
        help_text="Tick instead of choosing a file when the agency had no records for the "
        "period: it counts as supplied on time, and a later file for the period replaces it.",
    )
    period_start = forms.DateField(label="Period from", widget=DateInput)
    period_end = forms.DateField(label="Period to", widget=DateInput)
    declared_record_count = forms.IntegerField(
        label="Number of records",
        min_value=0,
        required=False,
        help_text="How many records the file holds; the hub checks it.",
    )
    supplier_name = forms.CharField(label="Your name", max_length=200)
    supplier_contact = forms.CharField(label="Contact (e-mail or telephone)", max_length=200)
    caveats = forms.CharField(
        label="Caveats and conditions of use",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    field_notes = forms.CharField(
        label="Fields that are not self-explanatory",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    coding_systems = forms.CharField(
        label="Coding systems used",
        required=False,
        max_length=500,
        help_text="E.g. ethnicity coded as the 16+1 census categories.",
    )
    geocoding_method = forms.CharField(
        label="How coordinates were determined",
        required=False,
        max_length=500,
        help_text="E.g. from the address by the force's GIS; or none supplied.",
    )

    def __init__(self, *args, user, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("supplier_name", user.get_full_name())
        initial.setdefault("supplier_contact", user.email)
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = access.supplier_agencies(user=user)
        self.fields["dataset"].queryset = access.supplier_datasets(user=user)
        self._xml_period_names()

    def _xml_period_names(self) -> None:
        """The names an XML submission's header may give its period's first and last days,
        normalised, for the page's script to fill the period in from a chosen file
        (static/hub/supply-period.js); the worker checks the period against the header."""
        starts, ends = set(), set()
        for dataset in self.fields["dataset"].queryset:
            submission = dataset.schema.xml_submission
            if submission is not None:
                starts.update(map(normalise_header, submission.period_start))
                ends.update(map(normalise_header, submission.period_end))
        if starts and ends:
            self.fields["file"].widget.attrs.update(
                {
                    "data-xml-period-start": " ".join(sorted(starts)),
                    "data-xml-period-end": " ".join(sorted(ends)),
                }
            )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", "The period must end on or after the day it starts.")
        if end and end > timezone.localdate():
            self.add_error("period_end", "The period has not ended yet.")
        if cleaned.get("nil_return") and cleaned.get("file"):
            self.add_error(
                "file", "A nil return has no file: remove the file, or untick the nil return."
            )
        elif not (cleaned.get("nil_return") or cleaned.get("file") or "file" in self.errors):
            self.add_error(
                "file",
                "Choose the file to supply, or tick the nil return if there is nothing to report.",
            )
        return cleaned


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why is the supply withdrawn?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E.g. October's file sent as September. The co-ordinator is told.",
    )


class ScheduleForm(forms.Form):
    """Set how often an agency supplies a dataset and by when."""

    agency = forms.ModelChoiceField(queryset=None)
    dataset = forms.ModelChoiceField(queryset=None, to_field_name="slug")
    frequency = forms.ChoiceField(choices=SupplyFrequency.choices)
    due_day = forms.IntegerField(
        label="Due day",
        min_value=1,
        max_value=LAST_DUE_DAY,
        initial=10,
        help_text="The day of the month after the period ends by which the file is due.",
    )

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = partnership.agencies.all()
        self.fields["dataset"].queryset = selectors.dataset_list()


class QualityFilterForm(forms.Form):
    """Narrow the data-quality dashboard to one agency or dataset."""

    agency = forms.ModelChoiceField(queryset=None, required=False, empty_label="All agencies")
    dataset = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All datasets", to_field_name="slug"
    )

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = partnership.agencies.all()
        self.fields["dataset"].queryset = selectors.dataset_list()
