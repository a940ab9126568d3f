from django import template

from hub.words import month_words

register = template.Library()


@register.filter
def month(label) -> str:
    """{{ "2026-08"|month }} is "August 2026"."""
    return month_words(label)


@register.filter
def months(labels) -> str:
    """{{ ["2026-08", "2026-09"]|months }} is "August 2026, September 2026"."""
    return ", ".join(month_words(label) for label in labels)
