from django.conf import settings

from hub import selectors


def hub(request):
    user = getattr(request, "user", None)
    return {
        "hub_demo": settings.DEMO,
        "hub_roles": selectors.user_roles(user=user) if user is not None else set(),
    }
