import re

from django.contrib.auth.decorators import login_required
from django.http import (
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from hub.access import agency_standing
from hub.services import system_health


@require_safe
@login_required
def home(request):
    memberships = request.user.memberships.select_related("agency__partnership")
    standings = [
        (membership, agency_standing(agency=membership.agency)) for membership in memberships
    ]
    return render(request, "hub/home.html", {"standings": standings})


@require_safe
def health(request):
    """For load balancers and monitoring: the database, Redis and a worker, each up or down."""
    checks = system_health()
    return JsonResponse(checks, status=200 if all(checks.values()) else 503)


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the hub's icon.
    Not a permanent redirect: the icon's static name changes with its content."""
    return redirect(static("hub/favicon.svg"))


# -- error pages (hub/urls.py names them as Django's handlers) ---------------------------------

# The one kind of 404 message shown: the hub raises "No such <thing>." alike for what does not
# exist and what is not the user's, so it tells nothing of either. Any other message (Django's
# own, or one a view might word by mistake to say which) is not shown.
SHOWN_NOT_FOUND = re.compile(r"No such [\w' -]{1,40}\.")


def _api(request) -> bool:
    # The API's errors are JSON, {"detail": ...}, as its own views answer them.
    path = request.path_info
    return path.startswith("/api/") and not path.startswith("/api/docs/")


def _plain(template: str, fallback: str) -> str:
    """A page of errors that must show whatever is broken: rendered with no request, so no
    context processor and no database; plain words if even that fails."""
    try:
        return loader.render_to_string(template)
    except Exception:  # noqa: BLE001 - the page saying something failed must not fail too
        return fallback


@requires_csrf_token
def bad_request(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return HttpResponseBadRequest(_plain("400.html", "Bad request."))


@requires_csrf_token
def permission_denied(request, exception):
    # A refusal's message is written for the user it refuses (hub.access.AccessRefused).
    reason = str(exception) if exception is not None else ""
    if _api(request):
        return JsonResponse({"detail": reason or "You may not do this."}, status=403)
    return HttpResponseForbidden(loader.render_to_string("403.html", {"reason": reason}, request))


@requires_csrf_token
def page_not_found(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    message = exception.args[0] if exception is not None and exception.args else ""
    shown = message if isinstance(message, str) and SHOWN_NOT_FOUND.fullmatch(message) else ""
    return HttpResponseNotFound(loader.render_to_string("404.html", {"message": shown}, request))


@requires_csrf_token
def server_error(request):
    if _api(request):
        return JsonResponse({"detail": "A server error occurred."}, status=500)
    return HttpResponseServerError(
        _plain("500.html", "The hub failed to answer this request. Please try again later.")
    )
