import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

application = get_wsgi_application()

from hub.startup import long_lived_freeze  # noqa: E402 - needs the settings loaded above

long_lived_freeze()
