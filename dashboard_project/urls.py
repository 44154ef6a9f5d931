from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts.admin_login import admin_login
from live import health
from live.sockets.api import AsyncApiView, InstancesView, PickView

urlpatterns = [
    # Ahead of the admin's own login URL: the same view, login attempts counted first.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("accounts.urls")),
    path("api/metrics/", include("metrics_api.urls")),
    path("api/instances/", InstancesView.as_view(), name="instances"),
    path("api/instances/pick/", PickView.as_view(), name="instances-pick"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/asyncapi/", AsyncApiView.as_view(), name="asyncapi"),
    path("health/", health.health, name="health"),
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    path("", include("django_prometheus.urls")),
    path("", include("dashboard_page.urls")),
]

handler400 = "runtime.errors.json_400"
handler403 = "runtime.errors.json_403"
handler404 = "runtime.errors.json_404"
handler500 = "runtime.errors.json_500"
