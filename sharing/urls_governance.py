from django.urls import path

from sharing import governance_views

urlpatterns = [
    path("governance/", governance_views.console, name="governance"),
    path("governance/isp/", governance_views.isp, name="governance-isp"),
    path("governance/agencies/new/", governance_views.agency_new, name="governance-agency-new"),
    path("requests/", governance_views.request_list, name="request-list"),
    path("requests/new/<slug:slug>/", governance_views.request_new, name="request-new"),
    path("requests/<str:request_id>/", governance_views.request_detail, name="request-detail"),
]
