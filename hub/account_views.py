"""A user's own account: the sign-in code step, two-factor set-up, API tokens, password reset."""

import base64

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from hub import selectors, services
from hub.access import two_factor_required
from hub.demo import demo_sign_in_list
from hub.forms import CodeForm, EnrolForm


def _ip(request):
    return request.META.get("REMOTE_ADDR")


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse(settings.LOGIN_REDIRECT_URL)


class LoginView(auth_views.LoginView):
    """Django's sign-in; in demo mode it also lists the personas and their current codes."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["demo_sign_ins"] = demo_sign_in_list() if settings.DEMO else []
        return context


@require_safe
@login_required
def account(request):
    return render(
        request,
        "account/account.html",
        {
            "two_factor": selectors.two_factor_status(user=request.user),
            "token": selectors.api_token_of(user=request.user),
        },
    )


# never_cache: the pages that show a secret once must not be kept by a browser or a proxy.
@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def two_factor_enrol(request):
    """Set up an authenticator app: scan the QR code (or type the key), then type a code."""
    if selectors.totp_device(user=request.user) is not None:
        # A second authenticator only from a verified session: a stolen password alone
        # must not be able to add one.
        owed = selectors.second_factor_owed(user=request.user)
        return redirect("two-factor-verify" if owed else "account")
    device = services.two_factor_enrolment_start(user=request.user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.two_factor_enrol(
            user=request.user,
            device=device,
            code=form.cleaned_data["code"],
            ip_address=_ip(request),
        )
        if codes is not None:
            device.refresh_from_db()
            django_otp.login(request, device)
            request.session.cycle_key()
            return render(
                request,
                "account/backup_codes.html",
                {"codes": codes, "next": _next_url(request), "enrolled": True},
            )
        form.add_error("code", "That code is not right. Type the newest code the app shows.")
    # segno writes the QR code as SVG paths with no style attributes, which the CSP allows.
    qr_code = segno.make(device.config_url, error="m").svg_inline(
        scale=4, dark="#0b0c0c", light="#ffffff", title="QR code to scan with your app"
    )
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "account/two_factor_enrol.html",
        {
            "form": form,
            "qr_code": mark_safe(qr_code),  # noqa: S308 - segno's own markup, no user input
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "required": two_factor_required(user=request.user),
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def two_factor_verify(request):
    """The sign-in's second step: a code from the authenticator, or a backup code."""
    if not selectors.second_factor_owed(user=request.user):
        return redirect(_next_url(request))
    if selectors.totp_device(user=request.user) is None:
        return redirect(reverse("two-factor-enrol") + "?" + request.GET.urlencode())
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.two_factor_verify(
            user=request.user, code=form.cleaned_data["code"], ip_address=_ip(request)
        )
        if check.device is not None:
            django_otp.login(request, check.device)
            request.session.cycle_key()
            return redirect(_next_url(request))
        if check.retry_after is not None:
            form.add_error(
                "code",
                "Too many wrong codes. Wait until "
                f"{timezone.localtime(check.retry_after):%H:%M:%S} and try again.",
            )
        else:
            form.add_error("code", "That code is not right. Type the newest code the app shows.")
    return render(
        request,
        "account/two_factor_verify.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
    )


@never_cache
@require_POST
@login_required
def backup_codes_new(request):
    codes = services.backup_codes_issue(user=request.user, ip_address=_ip(request))
    return render(
        request,
        "account/backup_codes.html",
        {"codes": codes, "next": reverse("account"), "enrolled": False},
    )


@require_POST
@login_required
def two_factor_remove(request):
    services.two_factor_remove(user=request.user, acting_user=request.user, ip_address=_ip(request))
    messages.success(request, "Two-factor authentication is removed from your account.")
    return redirect("account")


@never_cache
@require_POST
@login_required
def token_issue(request):
    try:
        key = services.token_issue(user=request.user, acting_user=request.user)
    except services.TokenRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("account")
    return render(request, "account/token_issued.html", {"key": key})


@require_POST
@login_required
def token_revoke(request):
    if services.token_revoke(user=request.user, acting_user=request.user):
        messages.success(request, "Your API token is revoked: it no longer works.")
    return redirect("account")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail, audited; the same answer whether or not the address is
    known, and links that point at HUB_SITE_URL, as invitations do."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        allowed = services.password_reset_requested(
            email=email, known=any(form.get_users(email)), ip_address=_ip(self.request)
        )
        if not allowed:
            return redirect(self.success_url)  # as if sent: the answer never differs
        self.extra_email_context = {"site_url": settings.HUB_SITE_URL}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a password from an e-mailed link (an invitation or a reset), audited."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_set(user=form.user, ip_address=_ip(self.request))
        return response
