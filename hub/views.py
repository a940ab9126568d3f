from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
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
