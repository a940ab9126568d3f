"""Pages of the document library and of FOI consultations: thin, over sharing's services and
selectors, which hold every rule."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from hub.access import coordinated_partnership, governance_reader, require_coordinator, role_holders
from hub.choices import Role
from hub.uploads import EncryptedUpload
from sharing import selectors
from sharing.choices import FoiStatus
from sharing.forms import (
    DocumentForm,
    DocumentVersionForm,
    FoiAnswerForm,
    FoiReleaseForm,
    FoiRequestForm,
)
from sharing.services import foi as foi_services
from sharing.services import library


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _discard_uploads(request, *, keep=None) -> None:
    """Delete every encrypted upload of the request that no document took, so that a refused
    or invalid form (or an extra file field) leaves nothing on disk."""
    for _, uploads in request.FILES.lists():
        for upload in uploads:
            if upload is not keep and isinstance(upload, EncryptedUpload):
                upload.discard()


# -- document library -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def document_list(request):
    partnership = selectors.document_upload_partnership(user=request.user)
    if request.method == "POST" and partnership is None:
        _discard_uploads(request)
        raise PermissionDenied("Only the co-ordinator and core-tier analysts add documents.")
    form = None
    if partnership is not None:
        form = DocumentForm(request.POST or None, request.FILES or None, partnership=partnership)
        refused = getattr(request, "upload_refused", None)
        if refused:
            form.add_error("file", refused)
        if request.method == "POST" and not refused and form.is_valid():
            data = form.cleaned_data
            try:
                document = library.document_create(
                    acting_user=request.user,
                    partnership=partnership,
                    title=data["title"],
                    kind=data["kind"],
                    marking=data["marking"],
                    description=data["description"],
                    audience_agencies=data["audience_agencies"],
                    audience_tiers=data["audience_tiers"],
                    upload=data["file"],
                    ip_address=_ip(request),
                )
            except library.DocumentRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                _discard_uploads(request, keep=data["file"])
                messages.success(request, "The document is in the library.")
                return redirect("document-detail", document_id=document.pk)
        if request.method == "POST":
            _discard_uploads(request)
    return render(
        request,
        "sharing/document_list.html",
        {"documents": selectors.document_list(user=request.user), "form": form},
    )


@require_http_methods(["GET", "POST"])
@login_required
def document_detail(request, document_id):
    document = selectors.document_get(
        user=request.user, document_id=document_id, ip_address=request.META.get("REMOTE_ADDR")
    )
    may_upload = selectors.document_may_upload(user=request.user, partnership=document.partnership)
    if request.method == "POST" and not may_upload:
        _discard_uploads(request)
        raise PermissionDenied("Only the co-ordinator and core-tier analysts add versions.")
    form = DocumentVersionForm(request.POST or None, request.FILES or None) if may_upload else None
    if form is not None:
        refused = getattr(request, "upload_refused", None)
        if refused:
            form.add_error("file", refused)
        if request.method == "POST" and not refused and form.is_valid():
            data = form.cleaned_data
            try:
                version = library.document_add_version(
                    acting_user=request.user,
                    document=document,
                    upload=data["file"],
                    note=data["note"],
                    ip_address=_ip(request),
                )
            except library.DocumentRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                _discard_uploads(request, keep=data["file"])
                messages.success(request, f"Version {version.number} is now the current one.")
                return redirect("document-detail", document_id=document.pk)
        if request.method == "POST":
            _discard_uploads(request)
    return render(
        request,
        "sharing/document_detail.html",
        {
            "document": document,
            "versions": document.versions.select_related("uploaded_by"),
            "audience_agencies": document.audience_agencies.all(),
            "form": form,
        },
    )


@require_safe
@login_required
def document_download(request, document_id, number=None):
    """A version's file (the current one when no number is given), decrypted as it streams."""
    document = selectors.document_get(
        user=request.user, document_id=document_id, ip_address=request.META.get("REMOTE_ADDR")
    )
    version = selectors.document_version_get(document=document, number=number)
    try:
        stream = library.document_download(
            acting_user=request.user, version=version, ip_address=_ip(request)
        )
    except library.DocumentRefused as refusal:
        raise Http404("No such document.") from refusal
    response = StreamingHttpResponse(stream, content_type=library.document_content_type(version))
    # Built by Django, so that a crafted file name cannot break out of the header.
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=version.original_filename
    )
    response["Cache-Control"] = "no-store"
    return response


# -- FOI consultation -------------------------------------------------------------------------


@require_safe
@login_required
def foi_list(request):
    if not governance_reader(user=request.user):
        raise Http404("No such page.")
    coordinated = coordinated_partnership(user=request.user)
    return render(
        request,
        "sharing/foi_list.html",
        {
            "requests": selectors.foi_restrict(user=request.user)[:500],
            "may_record": coordinated is not None,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def foi_new(request):
    partnership = require_coordinator(user=request.user)
    form = FoiRequestForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            foi = foi_services.foi_record(
                acting_user=request.user,
                reference=data["reference"],
                received_on=data["received_on"],
                requester=data["requester"],
                request_text=data["request_text"],
                originating_agency=data["originating_agency"],
                datasets=data["datasets"],
                ip_address=_ip(request),
            )
        except foi_services.FoiRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            agency = foi.originating_agency
            if role_holders(agency=agency, role=Role.DLO).exclude(email="").exists():
                messages.success(request, f"Recorded; {agency}'s DLO has been e-mailed.")
            else:
                messages.warning(
                    request,
                    f"Recorded, but {agency} has no DLO with an e-mail address on the hub: "
                    "nobody was told. Give the agency a DLO, who can then answer here.",
                )
            return redirect("foi-detail", foi_id=foi.pk)
    return render(request, "sharing/foi_new.html", {"form": form})


# How the request's audit entries read on its page.
FOI_STEPS = {
    "foi_recorded": "Recorded; the originating agency's DLO e-mailed",
    "foi_answered": "Answered by the originating agency",
    "foi_answer_refused": "An answer was refused",
    "foi_released": "Release recorded",
    "foi_release_refused": "A release was refused",
    "foi_withdrawn": "Withdrawn",
    "foi_mail_failed": "An e-mail could not be sent",
    "foi_deadline_reminder": "The co-ordinator reminded of the deadline",
}


def _foi_page(request, foi, *, answer_form=None, release_form=None):
    """The request's page with the forms this user may use on it now."""
    is_open = foi.status in (FoiStatus.CONSULTING, FoiStatus.ANSWERED)
    coordinates = coordinated_partnership(user=request.user) == foi.partnership
    if answer_form is None and is_open and selectors.foi_may_answer(user=request.user, foi=foi):
        answer_form = FoiAnswerForm(
            initial={"answer": foi.answer, "reasons": foi.answer_reasons} if foi.answer else None
        )
    if release_form is None and coordinates and foi.status == FoiStatus.ANSWERED:
        release_form = FoiReleaseForm(foi=foi)
    return render(
        request,
        "sharing/foi_detail.html",
        {
            "foi": foi,
            "datasets": foi.datasets.all(),
            "answer_form": answer_form,
            "release_form": release_form,
            "may_withdraw": coordinates and is_open,
            "history": [
                (entry, FOI_STEPS.get(entry.action, entry.action))
                for entry in selectors.foi_history(foi=foi)
            ],
        },
    )


@require_safe
@login_required
def foi_detail(request, foi_id):
    return _foi_page(request, selectors.foi_get(user=request.user, foi_id=foi_id))


@require_POST
@login_required
def foi_answer(request, foi_id):
    foi = selectors.foi_get(user=request.user, foi_id=foi_id)
    if not selectors.foi_may_answer(user=request.user, foi=foi):
        raise Http404("No such page.")
    form = FoiAnswerForm(request.POST)
    if form.is_valid():
        try:
            foi_services.foi_answer(
                acting_user=request.user,
                foi=foi,
                answer=form.cleaned_data["answer"],
                reasons=form.cleaned_data["reasons"],
                ip_address=_ip(request),
            )
        except foi_services.FoiRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Your answer is recorded; the co-ordinator has been told.")
            return redirect("foi-detail", foi_id=foi.pk)
    return _foi_page(request, foi, answer_form=form)


def _coordinated_foi(request, foi_id):
    """The request, for its partnership's co-ordinator; 404 for everyone else."""
    foi = selectors.foi_get(user=request.user, foi_id=foi_id)
    if coordinated_partnership(user=request.user) != foi.partnership:
        raise Http404("No such page.")
    return foi


@require_POST
@login_required
def foi_release(request, foi_id):
    foi = _coordinated_foi(request, foi_id)
    form = FoiReleaseForm(request.POST, foi=foi)
    if form.is_valid():
        try:
            foi_services.foi_release(
                acting_user=request.user,
                foi=foi,
                released_on=form.cleaned_data["released_on"],
                objection_acknowledged=form.cleaned_data.get("objection_acknowledged", False),
                objection_reason=form.cleaned_data.get("objection_reason", ""),
                ip_address=_ip(request),
            )
        except foi_services.FoiRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "The release is recorded.")
            return redirect("foi-detail", foi_id=foi.pk)
    return _foi_page(request, foi, release_form=form)


@require_POST
@login_required
def foi_withdraw(request, foi_id):
    foi = _coordinated_foi(request, foi_id)
    try:
        foi_services.foi_withdraw(acting_user=request.user, foi=foi, ip_address=_ip(request))
    except foi_services.FoiRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "The request is withdrawn.")
    return redirect("foi-detail", foi_id=foi.pk)
