"""The co-ordinator's access profiles: what each grants of every dataset in the catalogue, and
to whom. A change is previewed (who gains, who loses what) before it is saved."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from datasets import selectors as dataset_selectors
from hub import selectors
from hub.access import require_coordinator
from sharing import access
from sharing.choices import AccessLevel
from sharing.governance_forms import ProfileForm
from sharing.models import AccessGrant
from sharing.services.isp import GovernanceRefused
from sharing.services.profiles import access_profile_preview, access_profile_save


@require_safe
@login_required
def profile_list(request):
    require_coordinator(
        user=request.user, page="access profiles", ip_address=request.META.get("REMOTE_ADDR")
    )
    granted = AccessGrant.objects.exclude(level=AccessLevel.NONE).select_related("dataset")
    profiles = (
        access.access_profile_restrict(user=request.user)
        .annotate(
            user_count=Count("users", distinct=True), group_count=Count("groups", distinct=True)
        )
        .prefetch_related(Prefetch("grants", queryset=granted.order_by("dataset__name")))
    )
    return render(request, "sharing/console_profiles.html", {"profiles": profiles})


@require_http_methods(["GET", "POST"])
@login_required
def profile_new(request):
    partnership = require_coordinator(
        user=request.user, page="new access profile", ip_address=request.META.get("REMOTE_ADDR")
    )
    return _edit(request, partnership, None)


@require_http_methods(["GET", "POST"])
@login_required
def profile_detail(request, profile_id):
    ip_address = request.META.get("REMOTE_ADDR")
    partnership = require_coordinator(user=request.user, page="access profile",
                                      ip_address=ip_address)  # fmt: skip
    profile = access.access_profile_get(
        user=request.user, profile_id=profile_id, ip_address=ip_address
    )
    return _edit(request, partnership, profile)


def _edit(request, partnership, profile):
    """The profile's form: "Preview" shows who would gain and lose what; "Save" saves what
    was previewed (a form changed since is previewed again instead)."""
    form = ProfileForm(
        request.POST or None,
        users=selectors.partnership_users(partnership=partnership).order_by("username"),
        datasets=dataset_selectors.dataset_list(),
        profile=profile,
    )
    changes, previewed = None, ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        arguments = {
            "partnership": partnership, "profile": profile, "levels": form.levels(),
            "holders": data["holders"], "name": data.get("name", ""),
            "description": data["description"], "acting_user": request.user,
        }  # fmt: skip
        previewed = form.fingerprint()
        try:
            if request.POST.get("action") == "save":
                if request.POST.get("previewed") == previewed:
                    saved = access_profile_save(**arguments)
                    messages.success(request, f"The {saved.name} profile is saved.")
                    return redirect("console-profile", profile_id=saved.pk)
                messages.warning(
                    request, "The form changed after its preview: check the changes, then save."
                )
            changes = access_profile_preview(**arguments)
        except GovernanceRefused as refusal:
            form.add_error(None, str(refusal))
            previewed = ""
    holders_through_groups = profile.groups.all() if profile is not None else []
    return render(
        request,
        "sharing/console_profile.html",
        {
            "profile": profile,
            "form": form,
            "changes": changes,
            "previewed": previewed,
            "groups": holders_through_groups,
        },
    )
