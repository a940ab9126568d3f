from django.urls import path

from sharing import workspace_views

urlpatterns = [
    path("workspace/", workspace_views.home, name="workspace"),
    path("workspace/datasets/<slug:slug>/", workspace_views.explore, name="workspace-explore"),
    path("workspace/saved/", workspace_views.save_query, name="workspace-save"),
    path("workspace/saved/<int:saved_id>/", workspace_views.open_query, name="workspace-open"),
    path(
        "workspace/saved/<int:saved_id>/delete/",
        workspace_views.delete_query,
        name="workspace-delete",
    ),
]
