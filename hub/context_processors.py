from django.conf import settings

from hub.access import roles_held
from hub.choices import Role


def hub(request):
    user = getattr(request, "user", None)
    roles = roles_held(user=user) if user is not None else set()
    return {
        "hub_demo": settings.DEMO,
        "hub_sees_supplies": bool(roles & {Role.SUPPLIER, Role.DLO, Role.COORDINATOR}),
        "hub_governs": bool(roles & {Role.DLO, Role.COORDINATOR}),
        "hub_sees_foi": bool(roles & {Role.DLO, Role.COORDINATOR}),
        "hub_requests": bool(roles & {Role.ANALYST, Role.DLO, Role.CALDICOTT}),
        "hub_analyses": Role.ANALYST in roles,
    }
