"""Pages of the document library and of FOI consultations (included by hub/urls.py)."""

from django.urls import path

from sharing import library_views as views

urlpatterns = [
    path("documents/", views.document_list, name="document-list"),
    path("documents/<uuid:document_id>/", views.document_detail, name="document-detail"),
    path(
        "documents/<uuid:document_id>/download",
        views.document_download,
        name="document-download",
    ),
    path(
        "documents/<uuid:document_id>/versions/<int:number>/download",
        views.document_download,
        name="document-version-download",
    ),
    path("foi/", views.foi_list, name="foi-list"),
    path("foi/new/", views.foi_new, name="foi-new"),
    path("foi/<uuid:foi_id>/", views.foi_detail, name="foi-detail"),
    path("foi/<uuid:foi_id>/answer", views.foi_answer, name="foi-answer"),
    path("foi/<uuid:foi_id>/release", views.foi_release, name="foi-release"),
    path("foi/<uuid:foi_id>/withdraw", views.foi_withdraw, name="foi-withdraw"),
]
