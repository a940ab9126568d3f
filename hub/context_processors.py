from django.conf import settings


def hub(request):
    return {"hub_demo": settings.DEMO}
