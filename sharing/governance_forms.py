import hashlib
import json

from django import forms
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator

from datasets.forms import DateInput
from hub.choices import AgencyType, Role, SignatureTier
from sharing.audit_words import ACTION_PHRASES, action_choices
from sharing.choices import AccessLevel, LegalBasis
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


# What a profile may grant: personal data come only from an approved personal-data request.
PROFILE_LEVELS = [
    (level, AccessLevel(level).label)
    for level in (AccessLevel.NONE, AccessLevel.AGGREGATE, AccessLevel.DEPERSONALISED)
]
LEVEL_PREFIX = "level_"


class HolderChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name() or obj.username
        agencies = ", ".join(membership.agency.name for membership in obj.memberships_here)
        return f"{name} ({obj.username}; {agencies})"


class ProfileForm(forms.Form):
    """An access profile: a level for every dataset of the catalogue (a dataset added as a
    schema file gets a row of its own) and the users who hold it. The name is chosen once."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    holders = HolderChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, required=False, label="Held by",
        help_text="Users of the partnership given these levels (capped by their agency's tier).",
    )  # fmt: skip

    def __init__(self, *args, users, datasets, profile=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile = profile
        self.datasets = list(datasets)
        held = dict(profile.grants.values_list("dataset_id", "level")) if profile else {}
        if profile is not None:
            del self.fields["name"]
            self.fields["description"].initial = profile.description
            self.fields["holders"].initial = list(profile.users.values_list("pk", flat=True))
        self.fields["holders"].queryset = users
        for dataset in self.datasets:
            self.fields[LEVEL_PREFIX + dataset.slug] = forms.ChoiceField(
                choices=PROFILE_LEVELS, label=dataset.name,
                initial=held.get(dataset.pk, AccessLevel.NONE),
            )  # fmt: skip

    def level_fields(self):
        """(dataset, its bound level field), in catalogue order: the rows of the form."""
        return [(dataset, self[LEVEL_PREFIX + dataset.slug]) for dataset in self.datasets]

    def other_fields(self):
        return [field for field in self if not field.name.startswith(LEVEL_PREFIX)]

    def clean(self):
        cleaned = super().clean()
        unknown = sorted(
            key.removeprefix(LEVEL_PREFIX)
            for key in self.data
            if key.startswith(LEVEL_PREFIX) and key not in self.fields
        )
        if unknown:
            raise forms.ValidationError(f"No dataset {', '.join(unknown)} in the catalogue.")
        return cleaned

    def levels(self) -> dict:
        """The levels to grant: those chosen above none, and those the profile holds on
        datasets no longer in the catalogue, which the form does not show and so keeps."""
        shown = {dataset.pk for dataset in self.datasets}
        kept = {}
        if self.profile is not None:
            kept = {
                grant.dataset: grant.level
                for grant in self.profile.grants.select_related("dataset")
                if grant.dataset_id not in shown
            }
        chosen = {
            dataset: self.cleaned_data[LEVEL_PREFIX + dataset.slug] for dataset in self.datasets
        }
        return {**kept, **{d: level for d, level in chosen.items() if level != AccessLevel.NONE}}

    def fingerprint(self) -> str:
        """A digest of what the form says, so that a save can be matched to its preview."""
        data = self.cleaned_data
        said = {
            "name": data.get("name", ""),
            "description": data["description"],
            "holders": sorted(user.pk for user in data["holders"]),
            "levels": {d.slug: data[LEVEL_PREFIX + d.slug] for d in self.datasets},
        }
        return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()


class ActionFilterField(forms.ChoiceField):
    """An action chosen by its words; text that is no action's code (part of a code, or
    words, typed into the address: ``?action=extract``) is taken too and matches loosely."""

    def __init__(self, **kwargs):
        super().__init__(
            validators=[ProhibitNullCharactersValidator(), MaxLengthValidator(100)], **kwargs
        )

    def to_python(self, value):
        return super().to_python(value).strip()

    def valid_value(self, value):
        return True


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User")
    agency = forms.ModelChoiceField(queryset=None, required=False)
    dataset = forms.CharField(required=False)
    action = ActionFilterField(required=False, label="What happened")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies
        choices = [("", "Anything"), *action_choices()]
        typed = (self.data.get("action") or "").strip() if self.is_bound else ""
        if typed and typed not in ACTION_PHRASES:
            choices.insert(1, (typed, f"Anything matching “{typed}”"))
        self.fields["action"].choices = choices
