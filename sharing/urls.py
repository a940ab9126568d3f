"""sharing's pages (included by hub/urls.py); the API's are in sharing/api/urls.py."""

from django.urls import path

from sharing.api import workspace_areas as workspace_areas_api
from sharing.api import workspace_counts as workspace_counts_api
from sharing.api import workspace_map as workspace_map_api
from sharing.views import (
    areas,
    console,
    counts,
    extracts,
    governance,
    library,
    profiles,
    workspace,
)
from sharing.views import map as map_page
from sharing.views import vli as vli_page

urlpatterns = [
    # Extracts.
    path("extracts/", extracts.extract_list, name="extract-list"),
    path("extracts/new/<slug:slug>/", extracts.extract_new, name="extract-new"),
    path("extracts/<str:extract_id>/", extracts.extract_detail, name="extract-detail"),
    path("extracts/<str:extract_id>/download", extracts.extract_download, name="extract-download"),
    # Governance and personal-data requests.
    path("governance/", governance.console, name="governance"),
    path("governance/isp/", governance.isp, name="governance-isp"),
    path("governance/agencies/new/", governance.agency_new, name="governance-agency-new"),
    path("governance/users/", console.users, name="console-users"),
    path("governance/users/<int:user_id>/", console.user_detail, name="console-user"),
    path("governance/profiles/", profiles.profile_list, name="console-profiles"),
    path("governance/profiles/new/", profiles.profile_new, name="console-profile-new"),
    path("governance/profiles/<int:profile_id>/", profiles.profile_detail, name="console-profile"),
    path("governance/audit/", console.audit, name="console-audit"),
    path("governance/audit/export.csv", console.audit_export, name="console-audit-export"),
    path("requests/", governance.request_list, name="request-list"),
    path("requests/new/<slug:slug>/", governance.request_new, name="request-new"),
    path("requests/<str:request_id>/", governance.request_detail, name="request-detail"),
    # The document library and FOI consultations.
    path("documents/", library.document_list, name="document-list"),
    path("documents/<uuid:document_id>/", library.document_detail, name="document-detail"),
    path(
        "documents/<uuid:document_id>/download",
        library.document_download,
        name="document-download",
    ),
    path(
        "documents/<uuid:document_id>/versions/<int:number>/download",
        library.document_download,
        name="document-version-download",
    ),
    path("foi/", library.foi_list, name="foi-list"),
    path("foi/new/", library.foi_new, name="foi-new"),
    path("foi/<uuid:foi_id>/", library.foi_detail, name="foi-detail"),
    path("foi/<uuid:foi_id>/answer", library.foi_answer, name="foi-answer"),
    path("foi/<uuid:foi_id>/release", library.foi_release, name="foi-release"),
    path("foi/<uuid:foi_id>/withdraw", library.foi_withdraw, name="foi-withdraw"),
    # The analyst's workspace.
    path("workspace/", workspace.home, name="workspace"),
    path("workspace/datasets/<slug:slug>/", workspace.explore, name="workspace-explore"),
    path("workspace/saved/", workspace.save_query, name="workspace-save"),
    path("workspace/saved/<int:saved_id>/", workspace.open_query, name="workspace-open"),
    path(
        "workspace/saved/<int:saved_id>/delete/",
        workspace.delete_query,
        name="workspace-delete",
    ),
    path("workspace/counts/", counts.workspace_counts, name="workspace-counts"),
    path("workspace/counts.csv", counts.workspace_counts_csv, name="workspace-counts-csv"),
    path("workspace/linked/", counts.workspace_linked, name="workspace-linked"),
    path("workspace/compare/", counts.workspace_compare, name="workspace-compare"),
    path("workspace/vli/", vli_page.workspace_vli, name="workspace-vli"),
    path("workspace/vli.csv", vli_page.workspace_vli_csv, name="workspace-vli-csv"),
    path(
        "api/v1/workspace/map/",
        workspace_map_api.WorkspaceMapApi.as_view(),
        name="api-workspace-map",
    ),
    path("workspace/map/", map_page.workspace_map_page, name="workspace-map"),
    path("workspace/areas/", areas.workspace_areas, name="workspace-areas"),
    path("workspace/areas.csv", areas.workspace_areas_csv, name="workspace-areas-csv"),
    path("workspace/areas/search/", areas.area_search, name="workspace-area-search"),
    path(
        "api/v1/workspace/areas/",
        workspace_areas_api.WorkspaceAreasApi.as_view(),
        name="api-workspace-areas",
    ),
    path(
        "api/v1/workspace/counts/",
        workspace_counts_api.WorkspaceCountsApi.as_view(),
        name="api-workspace-counts",
    ),
    path(
        "api/v1/workspace/compare/",
        workspace_counts_api.WorkspaceCompareApi.as_view(),
        name="api-workspace-compare",
    ),
]
