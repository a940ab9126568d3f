"""Holds a signed-in session that still owes its second factor at the code step."""

from urllib.parse import urlencode

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from rest_framework.views import APIView

from hub.selectors import second_factor_owed, totp_device

# The pages such a session may still reach: the code step, setting up an authenticator,
# signing out and the password pages, none of which shows the partnership's data.
OPEN_PAGES = {
    "two-factor-verify",
    "two-factor-enrol",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "health",
    "favicon",
}


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: a session of a user who has an authenticator, or
    whose roles or access require one, reaches nothing but OPEN_PAGES until a code has
    verified it. The API checks the same in VerifiedSessionAuthentication, so that token
    calls, which have no session, are not held."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_PAGES:
            return None
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        if not second_factor_owed(user=request.user):
            return None
        step = "two-factor-verify" if totp_device(user=request.user) else "two-factor-enrol"
        target = redirect(step)
        target["Location"] += "?" + urlencode({"next": request.get_full_path()})
        return target


class RefuseNulCharacters:
    """A 400 for any request whose query or form fields hold a NUL character: no value the hub
    takes has one, and PostgreSQL text cannot hold it, so it would otherwise reach the
    database (a filter, an audit entry) and fail there as a server error."""

    MESSAGE = "A value in the request holds a NUL character; remove it and try again."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Only urlencoded forms are read here: reading a multipart body now would parse its
        # files before the upload views set their encrypting handlers. Forms refuse NUL in
        # their own fields.
        form = request.content_type == "application/x-www-form-urlencoded"
        if _holds_nul(request.GET) or (
            request.method == "POST" and form and _holds_nul(request.POST)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": self.MESSAGE}, status=400)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _holds_nul(fields) -> bool:
    return any(
        "\x00" in key or "\x00" in value for key, values in fields.lists() for value in values
    )
