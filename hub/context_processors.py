from django.conf import settings

from hub.choices import Role


def hub(request):
    user = getattr(request, "user", None)
    sees_supplies = bool(
        user is not None
        and user.is_authenticated
        and user.memberships.filter(
            roles__overlap=[Role.SUPPLIER, Role.DLO, Role.COORDINATOR]
        ).exists()
    )
    return {"hub_demo": settings.DEMO, "hub_sees_supplies": sees_supplies}
