from django.urls import path

from hub import console_views

urlpatterns = [
    path("governance/users/", console_views.users, name="console-users"),
    path("governance/users/<int:user_id>/", console_views.user_detail, name="console-user"),
    path("governance/audit/", console_views.audit, name="console-audit"),
    path("governance/audit/export.csv", console_views.audit_export, name="console-audit-export"),
]
