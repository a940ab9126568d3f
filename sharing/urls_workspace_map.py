from django.urls import path

from sharing.api import workspace_map

urlpatterns = [
    path(
        "api/v1/workspace/map/",
        workspace_map.WorkspaceMapApi.as_view(),
        name="api-workspace-map",
    ),
    path("workspace/map/", workspace_map.workspace_map_page, name="workspace-map"),
]
