from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from hub import account_views, views

api_v1 = [
    path("", include("datasets.api.urls")),
    path("", include("sharing.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("login/code/", account_views.two_factor_verify, name="two-factor-verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", account_views.account, name="account"),
    path("account/two-factor/", account_views.two_factor_enrol, name="two-factor-enrol"),
    path(
        "account/two-factor/backup-codes/",
        account_views.backup_codes_new,
        name="two-factor-backup-codes",
    ),
    path("account/two-factor/remove/", account_views.two_factor_remove, name="two-factor-remove"),
    path("account/token/", account_views.token_issue, name="api-token-issue"),
    path("account/token/revoke/", account_views.token_revoke, name="api-token-revoke"),
    path("password/reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path("", include("datasets.urls")),
    path("", include("sharing.urls")),
    path("", include("datasets.urls_governance")),
    path(
        "password/set/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("health/", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# Pages that say what went wrong and what to do; JSON on the API.
handler400 = "hub.views.bad_request"
handler403 = "hub.views.permission_denied"
handler404 = "hub.views.page_not_found"
handler500 = "hub.views.server_error"
