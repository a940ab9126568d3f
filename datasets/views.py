from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from datasets import access, charts, selectors
from datasets.api.views import template_response
from datasets.choices import ScheduleStatus, SupplyFrequency
from datasets.forms import QualityFilterForm, ScheduleForm, SupplyForm, WithdrawForm
from datasets.rejected_rows import rejected_rows_path, rejected_rows_stream
from datasets.services import schedule as schedule_services
from datasets.services import supplies as supply_services
from datasets.services import withdrawal
from datasets.spreadsheets import NEUTRALISED_NOTE
from hub.access import require_coordinator
from hub.services import audit_record
from sanitise.reference import OS_ATTRIBUTION


@require_safe
@login_required
def catalogue(request):
    return render(request, "datasets/catalogue.html", {"datasets": selectors.dataset_list()})


@require_safe
@login_required
def dataset_detail(request, slug):
    dataset = selectors.dataset_get(slug=slug)
    return render(request, "datasets/dataset_detail.html", {"dataset": dataset})


@require_safe
@login_required
def dataset_template(request, slug):
    return template_response(request=request, slug=slug)


@require_safe
@login_required
def supply_list(request):
    supplies = access.supply_restrict(user=request.user)[:200]
    can_supply = access.supplier_agencies(user=request.user).exists()
    follows_supplies = access.own_agencies(user=request.user).exists()
    return render(
        request,
        "datasets/supply_list.html",
        {"supplies": supplies, "can_supply": can_supply, "follows_supplies": follows_supplies},
    )


@require_safe
@login_required
def supply_standing(request):
    """A supplier's or DLO's own agencies: their supply schedule and the quality of what they
    supplied, as the co-ordinator sees them for the whole partnership."""
    agencies = access.own_agencies(user=request.user)
    if not agencies.exists():
        raise Http404("You do not supply data for any agency.")
    today = timezone.localdate()
    schedule, quality = selectors.agencies_standing(agencies=agencies, today=today)
    return render(
        request,
        "datasets/supply_standing.html",
        {"rows": schedule, "quality": quality, "today": today, "agencies": agencies},
    )


@require_http_methods(["GET", "POST"])
@login_required
def supply_new(request):
    if not access.supplier_agencies(user=request.user).exists():
        raise Http404("You do not supply data for any agency.")
    # Bound on every POST: one refused for its declared size arrives with no fields at all.
    posted = request.method == "POST"
    form = SupplyForm(
        request.POST if posted else None, request.FILES if posted else None, user=request.user
    )
    refused = getattr(request, "upload_refused", None)
    if refused:
        form.add_error("file", refused)
    if request.method == "POST" and not refused and form.is_valid():
        data = dict(form.cleaned_data)
        upload, nil_return = data.pop("file"), data.pop("nil_return")
        try:
            if nil_return:
                supply = supply_services.supply_nil_return(
                    acting_user=request.user,
                    ip_address=request.META.get("REMOTE_ADDR"),
                    **{name: data[name] for name in supply_services.NIL_RETURN_FIELDS},
                )
            else:
                supply = supply_services.supply_create(
                    acting_user=request.user,
                    upload=upload,
                    ip_address=request.META.get("REMOTE_ADDR"),
                    **data,
                )
        except access.SupplyRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                "Your nil return is recorded."
                if nil_return
                else "Your file is uploaded and being processed.",
            )
            return redirect("supply-detail", supply_id=supply.pk)
    elif request.method == "POST" and "file" in request.FILES:
        request.FILES["file"].discard()
    return render(request, "datasets/supply_new.html", {"form": form})


@require_safe
@login_required
def supply_detail(request, supply_id):
    supply = access.supply_get(
        user=request.user, supply_id=supply_id, route="supply page",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    return _supply_page(request, supply, withdraw_form=WithdrawForm())


def _supply_page(request, supply, *, withdraw_form):
    report = supply.report
    schema = supply.dataset.schema
    completeness = sorted(
        (
            (schema.title_of(name), percent)
            for name, percent in report.get("completeness", {}).items()
        ),
        key=lambda item: item[1],
    )
    columns_read = [
        (column, schema.title_of(name)) for column, name in report.get("header_mapping", {}).items()
    ]
    return render(
        request,
        "datasets/supply_detail.html",
        {
            "supply": supply,
            "report": report,
            "completeness": completeness,
            "columns_read": columns_read,
            "os_attribution": OS_ATTRIBUTION,
            "neutralised_note": NEUTRALISED_NOTE,
            "withdraw_form": withdraw_form,
            "may_withdraw": access.supply_withdrawable_by(user=request.user, supply=supply),
        },
        status=400 if withdraw_form.errors else 200,
    )


@require_POST
@login_required
def supply_withdraw(request, supply_id):
    supply = access.supply_get(
        user=request.user, supply_id=supply_id, route="supply withdraw",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            withdrawal.supply_withdraw(
                supply=supply,
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except access.SupplyRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                "The supply is withdrawn: its records no longer count anywhere, and the "
                "co-ordinator has been told.",
            )
            return redirect("supply-detail", supply_id=supply.pk)
    return _supply_page(request, supply, withdraw_form=form)


@require_POST
@login_required
def supply_retry(request, supply_id):
    supply = access.supply_get(
        user=request.user, supply_id=supply_id, route="supply retry",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    try:
        supply_services.supply_retry(supply=supply, acting_user=request.user)
    except access.SupplyRefused as refusal:
        messages.error(request, str(refusal))
    return redirect("supply-detail", supply_id=supply.pk)


@require_safe
@login_required
def supply_rejected_rows(request, supply_id):
    """The rejected rows with their reasons, decrypted and made spreadsheet-safe as they
    stream out; audited."""
    supply = access.supply_get(
        user=request.user, supply_id=supply_id, route="rejected rows",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
    path = rejected_rows_path(supply)
    if supply.raw_deleted_at is not None or not path.exists():
        raise Http404("The rejected rows are no longer kept.")
    audit_record(
        actor=request.user,
        action="supply_rejected_rows_downloaded",
        agency=supply.agency,
        dataset_slug=supply.dataset.slug,
        target=supply,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    response = StreamingHttpResponse(
        rejected_rows_stream(supply=supply), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="rejected_rows_{supply.pk}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# -- governance: the co-ordinator's pages -----------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def governance_schedule(request):
    partnership = require_coordinator(user=request.user)
    form = ScheduleForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schedule_services.schedule_set(
                **data, acting_user=request.user, ip_address=request.META.get("REMOTE_ADDR")
            )
        except (schedule_services.ScheduleInvalid, schedule_services.ScheduleRefused) as error:
            form.add_error(None, str(error))
        else:
            frequency = SupplyFrequency(data["frequency"]).label.lower()
            messages.success(
                request,
                f"{data['agency']} supplies {data['dataset'].name} {frequency}, "
                f"by day {data['due_day']} of the month after each period.",
            )
            return redirect("governance-schedule")
    today = timezone.localdate()
    rows = selectors.schedule_status(partnership=partnership, today=today)
    counts = Counter(row.status for row in rows)
    summary = [(status, status.label, counts[status]) for status in ScheduleStatus]
    return render(
        request,
        "datasets/governance_schedule.html",
        {"rows": rows, "summary": summary, "today": today, "form": form},
    )


@require_safe
@login_required
def governance_quality(request):
    partnership = require_coordinator(user=request.user)
    form = QualityFilterForm(request.GET or None, partnership=partnership)
    # A filter naming an agency or dataset that is not there shows its error and no rows,
    # rather than every row as if unfiltered.
    rows = []
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        rows = selectors.quality_rows(
            partnership=partnership, agency=filters.get("agency"), dataset=filters.get("dataset")
        )
    trends = [
        mark_safe(  # noqa: S308 - charts.line_chart escapes every label it draws
            charts.line_chart(
                chart_id=f"quality-{number}",
                title=f"{one.agency_name}: {one.dataset_name}",
                labels=one.periods,
                series=[
                    charts.Series("Rows rejected", one.rejected_rate),
                    charts.Series("Required fields complete", one.completeness),
                    charts.Series("Records located", one.geocoding_rate),
                ],
                x_title="Period supplied",
                y_title="Per cent",
                unit="%",
                top=100,
            )
        )
        for number, one in enumerate(selectors.quality_series(rows), 1)
        if len(one.periods) > 1
    ]
    return render(
        request, "datasets/governance_quality.html", {"rows": rows, "form": form, "trends": trends}
    )
