"""What the navigation offers of sharing's pages, asked of the gate each page asks."""

from django.utils.functional import SimpleLazyObject

from sharing.selectors import workspace_datasets


def navigation(request):
    """The workspace link only for users who have a dataset to see there: to a lapsed
    signatory's analyst the workspace explains why it shows nothing, and the home page says
    where they stand. Asked only when a page shows the navigation."""
    user = getattr(request, "user", None)
    return {"hub_analyses": SimpleLazyObject(lambda: bool(workspace_datasets(user=user)))}
