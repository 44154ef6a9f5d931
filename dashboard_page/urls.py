from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from .views import DashboardView, DisplayView

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("display/", DisplayView.as_view(), name="display"),
    # Browsers ask for /favicon.ico on pages that name no icon (admin, API pages).
    path("favicon.ico", RedirectView.as_view(url=static("dashboard/favicon.svg"), permanent=True)),
]
