from django.urls import path

from datasets.api import views

urlpatterns = [
    path("datasets/", views.DatasetListApi.as_view(), name="api-dataset-list"),
    path(
        "datasets/<slug:slug>/template.csv",
        views.DatasetTemplateApi.as_view(),
        name="api-dataset-template",
    ),
    path("supplies/", views.SupplyListCreateApi.as_view(), name="api-supply-list"),
    path("supplies/<str:supply_id>/", views.SupplyDetailApi.as_view(), name="api-supply-detail"),
    path(
        "supplies/<str:supply_id>/withdraw/",
        views.SupplyWithdrawApi.as_view(),
        name="api-supply-withdraw",
    ),
    path(
        "supplies/<str:supply_id>/report/",
        views.SupplyReportApi.as_view(),
        name="api-supply-report",
    ),
    path("schedule/", views.ScheduleStatusApi.as_view(), name="api-schedule"),
]
