"""The bundled dashboard page: one template whose scripts talk to the REST and WebSocket APIs."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

# Everything the page loads comes from this server; scripts only from files (no inline code).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


@method_decorator(never_cache, name="dispatch")
class DashboardView(TemplateView):
    """`/`: sign-in and the live dashboard.

    The page holds no server-side session: it signs in with JWTs over the REST API
    and sends them on the WebSocket, so it needs no CSRF cookie and sets none.
    """

    template_name = "dashboard/index.html"
    http_method_names = ["get", "head", "options"]

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Referrer-Policy"] = "same-origin"
        response["X-Content-Type-Options"] = "nosniff"
        return response
