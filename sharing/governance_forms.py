from django import forms

from datasets.forms import DateInput
from hub.choices import AgencyType, Role, SignatureTier
from sharing.choices import LegalBasis
from sharing.records import personal_fields, record_fields


class IspAdoptForm(forms.Form):
    version = forms.CharField(max_length=20)
    adopted_on = forms.DateField(widget=DateInput)
    review_due = forms.DateField(widget=DateInput, help_text="Every signature lapses after it.")


class SignatureForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=None)
    tier = forms.ChoiceField(choices=SignatureTier.choices)
    signed_on = forms.DateField(widget=DateInput)
    signatory_name = forms.CharField(max_length=200, label="Signed by")

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = partnership.agencies.all()


class AgencyAdmitForm(forms.Form):
    name = forms.CharField(max_length=200)
    agency_type = forms.ChoiceField(choices=AgencyType.choices, label="Kind of agency")
    consenting = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        label="Responsible authorities that consent",
        help_text="Every responsible authority must consent (guidance §2.2.4).",
    )

    def __init__(self, *args, authorities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consenting"].queryset = authorities


class DataRequestForm(forms.Form):
    supplying_agency = forms.ModelChoiceField(queryset=None, label="From")
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    legal_basis = forms.ChoiceField(choices=LegalBasis.choices, widget=forms.RadioSelect)
    legal_basis_detail = forms.CharField(
        required=False, max_length=500, label="Legal basis, if other"
    )
    records_needed = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label="Records needed, and why no fewer"
    )
    period_start = forms.DateField(widget=DateInput, label="Records from")
    period_end = forms.DateField(widget=DateInput, label="Records to")
    fields = forms.MultipleChoiceField(
        label="Fields needed", widget=forms.CheckboxSelectMultiple,
        help_text="Only these are released if the request is approved.",
    )  # fmt: skip
    districts = forms.CharField(
        label="Postcode districts", required=False,
        help_text="E.g. WN4. If given, only records located there are released.",
    )  # fmt: skip
    days_needed = forms.IntegerField(min_value=1, label="Days of access needed")

    def __init__(self, *args, agencies, dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplying_agency"].queryset = agencies
        names = record_fields(dataset.schema)
        names += [name for name in personal_fields(dataset.schema) if name not in names]
        self.fields["fields"].choices = [(name, name) for name in names]

    def clean_districts(self):
        text = self.cleaned_data["districts"]
        return [part.strip().upper() for part in text.replace(";", ",").split(",") if part.strip()]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")],
                                 widget=forms.RadioSelect)  # fmt: skip
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reasons")


class InviteForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=None)
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = partnership.agencies.all()


class RolesForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=None)
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False,
        help_text="No roles removes the user from the agency.",
    )  # fmt: skip

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = partnership.agencies.all()


class ProfilesForm(forms.Form):
    profiles = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, partnership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profiles"].queryset = partnership.access_profiles.all()


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User")
    agency = forms.ModelChoiceField(queryset=None, required=False)
    dataset = forms.CharField(required=False)
    action = forms.CharField(required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
