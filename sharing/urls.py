from django.urls import path

from sharing import views

urlpatterns = [
    path("extracts/", views.extract_list, name="extract-list"),
    path("extracts/new/<slug:slug>/", views.extract_new, name="extract-new"),
    path("extracts/<str:extract_id>/", views.extract_detail, name="extract-detail"),
    path("extracts/<str:extract_id>/download", views.extract_download, name="extract-download"),
]
