from django.urls import path

from datasets.api.views import DatasetListApi, DatasetTemplateApi

urlpatterns = [
    path("datasets/", DatasetListApi.as_view(), name="api-dataset-list"),
    path(
        "datasets/<slug:slug>/template.csv",
        DatasetTemplateApi.as_view(),
        name="api-dataset-template",
    ),
]
