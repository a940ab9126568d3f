from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from datasets import selectors as dataset_selectors
from sharing import selectors, services
from sharing.api.views import download_response
from sharing.choices import AccessLevel
from sharing.extracts import ExtractRefused
from sharing.forms import ExtractForm


@require_safe
@login_required
def extract_list(request):
    datasets = list(dataset_selectors.dataset_list())
    decisions = selectors.access_decisions(user=request.user, datasets=datasets)
    accessible = [
        (dataset, decisions[dataset.pk])
        for dataset in datasets
        if decisions[dataset.pk].level != AccessLevel.NONE
    ]
    return render(
        request,
        "sharing/extract_list.html",
        {
            "extracts": selectors.extract_restrict(user=request.user)[:100],
            "accessible": accessible,
            "refusal": None if accessible else next(iter(decisions.values()), None),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def extract_new(request, slug):
    dataset = dataset_selectors.dataset_get(slug=slug)
    decision = selectors.access_decision(user=request.user, dataset=dataset)
    if decision.level == AccessLevel.NONE:
        raise Http404("No such dataset.")
    form = ExtractForm(request.POST or None, dataset=dataset, decision=decision)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        linked = (
            dataset_selectors.dataset_get(slug=data["linked_dataset"])
            if data["linked_dataset"]
            else None
        )
        try:
            extract = services.extract_request(
                acting_user=request.user,
                dataset=dataset,
                period_start=data["period_start"],
                period_end=data["period_end"],
                file_format=data["file_format"],
                level=data["level"],
                fields=data["fields"],
                area={"districts": data["districts"]} if data["districts"] else {},
                linked_dataset=linked,
                category=data["category"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ExtractRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Your extract is being made.")
            return redirect("extract-detail", extract_id=extract.pk)
    return render(
        request,
        "sharing/extract_new.html",
        {"dataset": dataset, "decision": decision, "form": form},
    )


@require_safe
@login_required
def extract_detail(request, extract_id):
    extract = selectors.extract_get(user=request.user, extract_id=extract_id)
    return render(request, "sharing/extract_detail.html", {"extract": extract})


@require_safe
@login_required
def extract_download(request, extract_id):
    extract = selectors.extract_get(user=request.user, extract_id=extract_id)
    return download_response(request=request, extract=extract)
