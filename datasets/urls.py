from django.urls import path

from datasets import views

urlpatterns = [
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/<slug:slug>/", views.dataset_detail, name="dataset-detail"),
    path("catalogue/<slug:slug>/template.csv", views.dataset_template, name="dataset-template"),
    path("supplies/", views.supply_list, name="supply-list"),
    path("supplies/new/", views.supply_new, name="supply-new"),
    path("supplies/standing/", views.supply_standing, name="supply-standing"),
    path("supplies/<str:supply_id>/", views.supply_detail, name="supply-detail"),
    path("supplies/<str:supply_id>/retry/", views.supply_retry, name="supply-retry"),
    path("supplies/<str:supply_id>/withdraw/", views.supply_withdraw, name="supply-withdraw"),
    path(
        "supplies/<str:supply_id>/rejected.csv",
        views.supply_rejected_rows,
        name="supply-rejected-rows",
    ),
]
