"""The analyst's workspace: its home, the dataset explorer and saved queries."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from datasets import selectors as dataset_selectors
from hub.access import refuse
from sharing import selectors
from sharing.access import (
    acting_partnership,
    analyst_refusal,
    saved_query_get,
    saved_query_restrict,
)
from sharing.disclosure import release_labelled
from sharing.workspace.explore import dataset_exploration
from sharing.workspace.filters import FilterInvalid, partnership_chosen
from sharing.workspace.saved import saved_query_create, saved_query_delete, saved_query_url
from sharing.workspace.vulnerability import vli_offered


@require_safe
@login_required
def home(request):
    try:
        partnership = partnership_chosen(request.GET)
    except FilterInvalid as error:
        raise Http404("No such page.") from error
    visible = selectors.workspace_datasets(user=request.user, partnership=partnership)
    if not visible:
        refuse(
            user=request.user, route="workspace", reason="No dataset is yours to see.",
            partnership=acting_partnership(user=request.user),
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        # An analyst is told why (their own standing, nothing of anyone's data); to anyone
        # else the workspace does not exist.
        why = analyst_refusal(user=request.user, partnership=partnership)
        if why:
            raise PermissionDenied(why)
        raise Http404("No such page.")
    saved = saved_query_restrict(user=request.user).select_related("owner")
    return render(
        request,
        "sharing/workspace_home.html",
        {"visible": visible, "saved": saved, "vli_offered": vli_offered(visible)},
    )


@require_safe
@login_required
def explore(request, slug):
    dataset = dataset_selectors.dataset_get(slug=slug)
    try:
        context = dataset_exploration(
            user=request.user, dataset=dataset, params=request.GET,
            ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
    except FilterInvalid as error:
        raise Http404("No such page.") from error
    response = render(request, "sharing/workspace_explore.html", {"dataset": dataset, **context})
    return release_labelled(response, context["release"])


@require_POST
@login_required
def save_query(request):
    months = request.POST.get("months")
    try:
        saved_query_create(
            owner=request.user,
            name=request.POST.get("name", ""),
            view=request.POST.get("view", ""),
            params=request.POST,
            months=int(months) if months else None,
            shared=request.POST.get("shared") == "on",
        )
    except (FilterInvalid, ValueError) as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Saved: it is on your workspace page.")
    return redirect("workspace")


@require_safe
@login_required
def open_query(request, saved_id):
    saved = saved_query_get(
        user=request.user, saved_id=saved_id, route="saved query",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    return redirect(saved_query_url(saved=saved))


@require_POST
@login_required
def delete_query(request, saved_id):
    saved = saved_query_get(
        user=request.user, saved_id=saved_id, route="saved query delete",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    try:
        saved_query_delete(saved=saved, acting_user=request.user)
    except FilterInvalid as refusal:
        messages.error(request, str(refusal))
    return redirect("workspace")
