from django.urls import path

from sharing.api import views

urlpatterns = [
    path("extracts/", views.ExtractListCreateApi.as_view(), name="api-extract-list"),
    path("extracts/<str:extract_id>/", views.ExtractDetailApi.as_view(), name="api-extract-detail"),
    path(
        "extracts/<str:extract_id>/download",
        views.ExtractDownloadApi.as_view(),
        name="api-extract-download",
    ),
]
