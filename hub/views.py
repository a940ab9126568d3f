from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hub import selectors
from hub.services import system_health


@require_GET
@login_required
def home(request):
    memberships = request.user.memberships.select_related("agency").order_by("agency__name")
    return render(
        request,
        "hub/home.html",
        {"memberships": memberships, "roles": selectors.user_roles(user=request.user)},
    )


@require_GET
def health(request):
    """For load balancers and monitoring: the database, Redis and a worker, each up or down."""
    checks = system_health()
    return JsonResponse(checks, status=200 if all(checks.values()) else 503)
