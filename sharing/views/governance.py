"""The co-ordinator's ISP and partner pages, and personal-data requests (analysts, DLOs)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from datasets import selectors as dataset_selectors
from hub.access import (
    agency_standing,
    coordinated_partnership,
    governance_reader,
    isp_current,
    require_coordinator,
)
from hub.models import Signature
from sharing import access, selectors
from sharing.governance_forms import (
    AgencyAdmitForm,
    DataRequestForm,
    DecisionForm,
    IspAdoptForm,
    SignatureForm,
)
from sharing.services.governance import agency_admit, isp_adopt
from sharing.services.isp import GovernanceRefused, signature_record, signature_withdraw
from sharing.services.requests import request_create, request_decide, request_end


@require_safe
@login_required
def console(request):
    if not governance_reader(user=request.user):
        raise Http404("No such page.")
    partnership = coordinated_partnership(user=request.user)
    return render(request, "sharing/console.html", {"partnership": partnership})


@require_http_methods(["GET", "POST"])
@login_required
def isp(request):
    partnership = require_coordinator(user=request.user)
    current = isp_current(partnership=partnership)
    adopt_form = IspAdoptForm(None)
    sign_form = SignatureForm(None, partnership=partnership)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "adopt":
                adopt_form = IspAdoptForm(request.POST)
                if adopt_form.is_valid():
                    isp_adopt(partnership=partnership, acting_user=request.user,
                              **adopt_form.cleaned_data)  # fmt: skip
                    messages.success(request, "Adopted. Every agency must now sign it.")
                    return redirect("governance-isp")
            elif action == "sign" and current is not None:
                sign_form = SignatureForm(request.POST, partnership=partnership)
                if sign_form.is_valid():
                    signature_record(
                        isp=current, acting_user=request.user, **sign_form.cleaned_data
                    )
                    messages.success(request, "Signature recorded.")
                    return redirect("governance-isp")
            elif action == "withdraw":
                signature = Signature.objects.get(
                    pk=request.POST.get("signature"), isp__partnership=partnership
                )
                signature_withdraw(signature=signature, withdrawn_on=timezone.localdate(),
                                   acting_user=request.user)  # fmt: skip
                messages.success(request, f"{signature.agency} has withdrawn; its access ended.")
                return redirect("governance-isp")
        except (GovernanceRefused, ValueError, Signature.DoesNotExist) as refusal:
            messages.error(request, str(refusal))
    signatures = {
        signature.agency_id: signature
        for signature in Signature.objects.filter(isp=current).select_related("agency")
    } if current else {}  # fmt: skip
    rows = [
        (agency, signatures.get(agency.pk), agency_standing(agency=agency))
        for agency in partnership.agencies.select_related("designated_liaison_officer")
    ]
    return render(
        request,
        "sharing/governance_isp.html",
        {"isp": current, "rows": rows, "adopt_form": adopt_form, "sign_form": sign_form},
    )


@require_http_methods(["GET", "POST"])
@login_required
def agency_new(request):
    partnership = require_coordinator(user=request.user)
    authorities = selectors.responsible_authorities(partnership=partnership)
    form = AgencyAdmitForm(request.POST or None, authorities=authorities)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agency = agency_admit(
                partnership=partnership, name=data["name"], agency_type=data["agency_type"],
                consenting=list(data["consenting"]), acting_user=request.user,
            )  # fmt: skip
        except GovernanceRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"{agency} is a partner. Record its ISP signature next.")
            return redirect("governance-isp")
    return render(request, "sharing/governance_agency_new.html", {"form": form})


@require_safe
@login_required
def request_list(request):
    data_requests = access.request_restrict(user=request.user)
    # Offered to those whom request_new lets ask (analysts), as request_new decides it.
    requester_agency, _ = access.analyst_standing(user=request.user)
    datasets = (
        list(dataset_selectors.dataset_list().exclude(kind="depersonalised"))
        if requester_agency is not None
        else []
    )
    return render(
        request,
        "sharing/request_list.html",
        {"data_requests": data_requests, "datasets": datasets},
    )


@require_http_methods(["GET", "POST"])
@login_required
def request_new(request, slug):
    dataset = dataset_selectors.dataset_get(slug=slug)
    agency, standing = access.analyst_standing(user=request.user)
    if agency is None:
        raise Http404("No such page.")
    agencies = selectors.supplying_agencies(dataset=dataset, partnership=agency.partnership)
    form = DataRequestForm(request.POST or None, agencies=agencies, dataset=dataset)
    if request.method == "POST" and form.is_valid():
        try:
            data_request = request_create(requester=request.user, dataset=dataset,
                                          **form.cleaned_data)  # fmt: skip
        except GovernanceRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Your request has gone to the supplying agency's DLO.")
            return redirect("request-detail", request_id=data_request.pk)
    return render(
        request,
        "sharing/request_new.html",
        {"dataset": dataset, "form": form, "standing": standing},
    )


@require_http_methods(["GET", "POST"])
@login_required
def request_detail(request, request_id):
    data_request = access.request_get(
        user=request.user, request_id=request_id, ip_address=request.META.get("REMOTE_ADDR")
    )
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "end":
                request_end(data_request=data_request, acting_user=request.user,
                            reason="purpose complete")  # fmt: skip
                messages.success(request, "Access ended; extracts made under it are deleted.")
                return redirect("request-detail", request_id=data_request.pk)
            if form.is_valid():
                request_decide(
                    data_request=data_request, approve=form.cleaned_data["decision"] == "approve",
                    reason=form.cleaned_data["reason"], acting_user=request.user,
                )  # fmt: skip
                messages.success(request, "Your decision is recorded.")
                return redirect("request-detail", request_id=data_request.pk)
        except GovernanceRefused as refusal:
            messages.error(request, str(refusal))
    deciding = access.request_decider_role(user=request.user, data_request=data_request)
    return render(
        request,
        "sharing/request_detail.html",
        {"data_request": data_request, "form": form, "deciding": deciding},
    )
