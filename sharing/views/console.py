"""The co-ordinator's pages for users and their access, and the audit trail (co-ordinator and
DLOs)."""

import csv
import json
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from datasets import selectors as dataset_selectors
from datasets.access import audit_restrict
from datasets.choices import FieldClass
from datasets.spreadsheets import neutralise_cell
from hub import selectors
from hub.access import require_audit_reader, require_coordinator
from hub.audit import audit_head_id, audit_trail_read
from hub.models import Agency, User
from hub.services import TwoFactorRefused, two_factor_remove
from sharing import access as sharing_access
from sharing.audit_words import ACTION_PHRASES, actions_described, audit_lines
from sharing.choices import AccessLevel
from sharing.governance_forms import AuditFilterForm, InviteForm, ProfilesForm, RolesForm
from sharing.services.governance import user_deactivate, user_invite, user_roles_set
from sharing.services.isp import GovernanceRefused
from sharing.services.profiles import access_profile_assign, access_profile_unassign

# Which field classes each level shows (identifying fields only with personal access).
CLASSES_SHOWN = {
    AccessLevel.NONE: set(),
    AccessLevel.AGGREGATE: set(),
    AccessLevel.DEPERSONALISED: {FieldClass.REFERENCE, FieldClass.QUASI, FieldClass.ATTRIBUTE},
    AccessLevel.PERSONAL: set(FieldClass.values),
}


@require_http_methods(["GET", "POST"])
@login_required
def users(request):
    partnership = require_coordinator(user=request.user)
    form = InviteForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_invite(acting_user=request.user, **form.cleaned_data)
        except GovernanceRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"{user.email} is invited: they have been e-mailed a link.")
            return redirect("console-user", user_id=user.pk)
    return render(
        request,
        "sharing/console_users.html",
        {"users": selectors.partnership_users(partnership=partnership), "form": form},
    )


@require_http_methods(["GET", "POST"])
@login_required
def user_detail(request, user_id):
    partnership = require_coordinator(user=request.user)
    user = selectors.partnership_users(partnership=partnership).filter(pk=user_id).first()
    if user is None:
        raise Http404("No such user.")
    roles_form = RolesForm(None, partnership=partnership)
    profiles_here = user.access_profiles.filter(partnership=partnership)
    profiles_form = ProfilesForm(None, partnership=partnership, initial={"profiles": profiles_here})
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "deactivate":
                user_deactivate(user=user, acting_user=request.user)
                messages.success(request, f"{user} can no longer sign in or use the API.")
            elif action == "reset_two_factor":
                two_factor_remove(
                    user=user, acting_user=request.user, ip_address=request.META.get("REMOTE_ADDR")
                )
                messages.success(
                    request,
                    f"{user}'s two-factor authentication is reset: they set it up again "
                    "when they next sign in.",
                )
            elif action == "roles":
                roles_form = RolesForm(request.POST, partnership=partnership)
                if roles_form.is_valid():
                    user_roles_set(user=user, acting_user=request.user, **roles_form.cleaned_data)
                    messages.success(request, "Roles changed.")
            elif action == "profiles":
                profiles_form = ProfilesForm(request.POST, partnership=partnership)
                if profiles_form.is_valid():
                    _set_profiles(
                        user, set(profiles_form.cleaned_data["profiles"]), partnership, request.user
                    )
                    messages.success(request, "Access profiles changed.")
        except (GovernanceRefused, TwoFactorRefused) as refusal:
            messages.error(request, str(refusal))
        return redirect("console-user", user_id=user.pk)
    datasets = list(dataset_selectors.dataset_list())
    decisions = sharing_access.access_decisions(
        user=user, datasets=datasets, partnership=partnership
    )
    access = [
        (
            dataset,
            decisions[dataset.pk],
            [
                field_class in CLASSES_SHOWN[decisions[dataset.pk].level]
                for field_class in FieldClass.values
            ],
        )
        for dataset in datasets
    ]
    return render(
        request,
        "sharing/console_user.html",
        {
            "subject": user,
            "memberships": user.memberships.filter(agency__partnership=partnership),
            "access": access,
            "field_classes": FieldClass.labels,
            "roles_form": roles_form,
            "profiles_form": profiles_form,
            "two_factor": selectors.two_factor_status(user=user),
        },
    )


def _set_profiles(user: User, wanted: set, partnership, acting_user: User) -> None:
    """The user's profiles in this partnership become ``wanted``; another's are its own."""
    held = set(user.access_profiles.filter(partnership=partnership))
    for profile in wanted - held:
        access_profile_assign(profile=profile, holder=user, acting_user=acting_user)
    for profile in held - wanted:
        access_profile_unassign(profile=profile, holder=user, acting_user=acting_user)


def _filtered_audit(request):
    """The entries the user may read, narrowed by the page's filters; and the filters used."""
    entries = audit_restrict(user=request.user)
    agencies = Agency.objects.filter(pk__in=entries.exclude(agency=None).values("agency")).order_by(
        "name"
    )
    form = AuditFilterForm(request.GET or None, agencies=agencies)
    used = {}
    if form.is_valid():
        data = form.cleaned_data
        if data["user"]:
            entries = entries.filter(actor_username__icontains=data["user"])
        if data["agency"]:
            entries = entries.filter(agency=data["agency"])
        if data["dataset"]:
            entries = entries.filter(dataset_slug=data["dataset"])
        if data["action"]:
            entries = entries.filter(_action_matching(data["action"]))
        if data["date_from"]:
            entries = entries.filter(created_at__date__gte=data["date_from"])
        if data["date_to"]:
            entries = entries.filter(created_at__date__lte=data["date_to"])
        used = {
            name: value.pk if name == "agency" else str(value)
            for name, value in data.items()
            if value
        }
    return entries.select_related("agency").order_by("-created_at", "-id"), form, used


def _action_matching(text: str) -> Q:
    """An action chosen from the list is that action; other text, every action whose code or
    words contain it (``extract``, ``withdrawn``)."""
    if text in ACTION_PHRASES:
        return Q(action=text)
    return Q(action__icontains=text) | Q(action__in=actions_described(text))


@require_safe
@login_required
def audit(request):
    ip_address = request.META.get("REMOTE_ADDR")
    whose = require_audit_reader(user=request.user, page="audit", ip_address=ip_address)
    entries, form, used = _filtered_audit(request)
    shown = list(entries[:500])
    audit_trail_read(
        user=request.user, partnership=whose, filters=used, exported=False,
        read=Counter(entry.partnership_id for entry in shown), ip_address=ip_address,
    )  # fmt: skip
    return render(
        request, "sharing/console_audit.html", {"lines": audit_lines(shown), "form": form}
    )


@require_safe
@login_required
def audit_export(request):
    """The filtered trail as CSV, streamed; its reading is audited with how many rows it has."""
    ip_address = request.META.get("REMOTE_ADDR")
    whose = require_audit_reader(user=request.user, page="audit_export", ip_address=ip_address)
    entries, _, used = _filtered_audit(request)
    # Up to the newest entry now, so that the audited count is what the file holds.
    entries = entries.filter(id__lte=audit_head_id())
    read = entries.order_by().values_list("partnership_id").annotate(rows=Count("id"))
    audit_trail_read(
        user=request.user, partnership=whose, filters=used, exported=True, read=dict(read),
        ip_address=ip_address,
    )  # fmt: skip

    def rows():
        # The sentence for people, the action's code and the detail as recorded for those
        # who filter and match them.
        yield ["when", "who", "what", "action", "agency", "dataset", "object", "detail", "ip"]
        chunk = []
        for entry in entries.iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(entry)
            if len(chunk) == EXPORT_CHUNK:
                yield from _export_rows(chunk)
                chunk = []
        yield from _export_rows(chunk)

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    lines = (writer.writerow([neutralise_cell(cell) for cell in row]) for row in rows())
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit_trail.csv"'
    response["Cache-Control"] = "no-store"
    return response


EXPORT_CHUNK = 2000  # entries read, and named in words, at a time


def _export_rows(chunk: list):
    for line in audit_lines(chunk):
        entry = line.entry
        yield [
            entry.created_at.isoformat(), entry.actor_username, line.sentence, entry.action,
            entry.agency.name if entry.agency else "", entry.dataset_slug,
            f"{entry.object_type} {entry.object_id}".strip(), json.dumps(entry.detail),
            entry.ip_address or "",
        ]  # fmt: skip
