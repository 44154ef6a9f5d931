from django.apps import AppConfig


class DashboardPageConfig(AppConfig):
    """The bundled dashboard page: its view, template and static files, shipped in the package."""

    name = "dashboard_page"
    verbose_name = "Dashboard page"
