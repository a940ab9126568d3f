from django.conf import settings
from django.utils.functional import SimpleLazyObject

from hub.access import governance_reader, roles_held
from hub.choices import Role


def hub(request):
    """What the navigation offers. A link to a page that refuses some users asks the gate that
    page asks (lazily: only a page that shows the navigation asks it), so that no link leads
    to a refusal; the supplies and requests lists open for everyone and show each user theirs.
    sharing's links are offered by sharing.context_processors."""
    user = getattr(request, "user", None)
    roles = roles_held(user=user) if user is not None else set()
    governs = SimpleLazyObject(lambda: governance_reader(user=user))
    return {
        "hub_demo": settings.DEMO,
        "hub_sees_supplies": bool(roles & {Role.SUPPLIER, Role.DLO, Role.COORDINATOR}),
        "hub_governs": governs,
        "hub_sees_foi": governs,
        "hub_requests": bool(roles & {Role.ANALYST, Role.DLO, Role.CALDICOTT}),
    }
