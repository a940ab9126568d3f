from django.urls import path

from sharing import workspace_stats_views as views

urlpatterns = [
    path("workspace/counts/", views.workspace_counts, name="workspace-counts"),
    path("workspace/counts.csv", views.workspace_counts_csv, name="workspace-counts-csv"),
    path("workspace/linked/", views.workspace_linked, name="workspace-linked"),
    path("workspace/compare/", views.workspace_compare, name="workspace-compare"),
]
