from django import template

from sharing.choices import AccessLevel

register = template.Library()


@register.filter
def level_words(level: str) -> str:
    """An access level as people read it: "aggregate" is "Aggregate counts, perturbed"."""
    return AccessLevel(level).label if level in AccessLevel.values else level
