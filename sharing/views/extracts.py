from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from datasets import selectors as dataset_selectors
from hub.access import refuse
from sharing import access
from sharing.api.views import download_response
from sharing.audit_words.use import area_named
from sharing.choices import AccessLevel
from sharing.forms import ExtractForm
from sharing.records import ExtractRefused
from sharing.services.extracts import extract_request


@require_safe
@login_required
def extract_list(request):
    datasets = list(dataset_selectors.dataset_list())
    decisions = access.access_decisions(user=request.user, datasets=datasets)
    accessible = [
        (dataset, decisions[dataset.pk])
        for dataset in datasets
        if decisions[dataset.pk].level != AccessLevel.NONE
    ]
    return render(
        request,
        "sharing/extract_list.html",
        {
            "extracts": access.extract_restrict(user=request.user)[:100],
            "accessible": accessible,
            "refusal": None if accessible else next(iter(decisions.values()), None),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def extract_new(request, slug):
    dataset = dataset_selectors.dataset_get(slug=slug)
    decision = access.access_decision(user=request.user, dataset=dataset)
    if not decision.allows(AccessLevel.AGGREGATE) and not decision.allows(AccessLevel.PERSONAL):
        refuse(
            user=request.user, route="extract builder", reason=decision.reason,
            partnership=access.acting_partnership(user=request.user),
            dataset_slug=dataset.slug, ip_address=request.META.get("REMOTE_ADDR"),
        )  # fmt: skip
        raise Http404("No such dataset.")
    agency, _ = access.analyst_standing(user=request.user)
    requests = (
        access.active_requests(user=request.user, partnership=agency.partnership).filter(
            dataset=dataset
        )
        if decision.level == AccessLevel.PERSONAL
        else []
    )
    form = ExtractForm(
        request.POST or None, dataset=dataset, decision=decision, data_requests=requests
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        linked = (
            dataset_selectors.dataset_get(slug=data["linked_dataset"])
            if data["linked_dataset"]
            else None
        )
        try:
            extract = extract_request(
                acting_user=request.user,
                dataset=dataset,
                period_start=data["period_start"],
                period_end=data["period_end"],
                file_format=data["file_format"],
                level=data["level"],
                fields=data["fields"],
                area={"areas": data["areas"]} if data["areas"] else {},
                linked_dataset=linked,
                category=data["category"],
                data_request_id=data["data_request"].pk if data.get("data_request") else None,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except (ExtractRefused, access.AccessRefused) as refusal:
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
    extract = access.extract_get(
        user=request.user, extract_id=extract_id, route="extract page",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    return render(
        request,
        "sharing/extract_detail.html",
        {"extract": extract, "area_named": area_named(extract.area or {})},
    )


@require_safe
@login_required
def extract_download(request, extract_id):
    extract = access.extract_get(
        user=request.user, extract_id=extract_id, route="extract download",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    return download_response(request=request, extract=extract)
