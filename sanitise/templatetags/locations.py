"""How precise each location method is, in words, for the pages that count records by
method (sanitise.choices keeps the figures)."""

from django import template

from sanitise.choices import LOCATION_PRECISION_TEXT

register = template.Library()


@register.filter
def location_precision(method: str) -> str:
    return LOCATION_PRECISION_TEXT.get(method, "")
