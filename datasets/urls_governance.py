"""The co-ordinator's governance pages of the datasets app; 404 to everyone else."""

from django.urls import path

from datasets import views

urlpatterns = [
    path("governance/schedule/", views.governance_schedule, name="governance-schedule"),
    path("governance/quality/", views.governance_quality, name="governance-quality"),
]
