from django.urls import path

from datasets import views

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<slug:slug>/", views.dataset_detail, name="dataset-detail"),
    path("<slug:slug>/template.csv", views.dataset_template, name="dataset-template"),
]
