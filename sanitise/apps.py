from django.apps import AppConfig


class SanitiseConfig(AppConfig):
    name = "sanitise"
    verbose_name = "Geocoding and sanitisation"
