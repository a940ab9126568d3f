from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from hub import views

api_v1 = [
    path("", include("datasets.api.urls")),
    path("", include("sharing.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("datasets.urls")),
    path("", include("sharing.urls")),
    path("", include("sharing.urls_governance")),
    path("", include("sharing.urls_library")),
    path("", include("datasets.urls_governance")),
    path("", include("sharing.urls_workspace")),
    path("", include("sharing.urls_workspace_stats")),
    path("", include("sharing.urls_workspace_map")),
    path("", include("hub.urls_console")),
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("health/", views.health, name="health"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
]
