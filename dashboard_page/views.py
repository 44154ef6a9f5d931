"""The bundled dashboard page: one template whose scripts talk to the REST and WebSocket APIs."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from accounts import oidc
from metrics.catalogue import LIVE_METRICS, METRICS


def tile_specs() -> list[dict]:
    specs = []
    for name in LIVE_METRICS:
        tile = METRICS[name].tile
        if tile is not None:
            specs.append(
                {
                    "metric": name,
                    "title": tile.title,
                    "period": tile.period,
                    "kind": tile.kind,
                    "options": tile.options,
                }
            )
    return specs


def idle_signout_seconds() -> str:
    """The personal session's idle limit for the page, in seconds ("0": never)."""
    return f"{settings.DASHBOARD_IDLE_SIGNOUT_MINUTES * 60:g}"


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


def content_security_policy(oidc_config: dict | None) -> str:
    """The page's policy; with single sign-on, the provider's token endpoint may be fetched."""
    if not oidc_config:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(oidc_config["token"])
    origin = f"{parts.scheme}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self' ws: wss:", f"connect-src 'self' ws: wss: {origin}"
    )


@method_decorator(never_cache, name="dispatch")
class DashboardView(TemplateView):
    """`/`: sign-in and the live dashboard.

    The page holds no server-side session: it signs in with JWTs over the REST API
    and sends them on the WebSocket, so it needs no CSRF cookie and sets none.
    """

    template_name = "dashboard/index.html"
    http_method_names = ["get", "head", "options"]
    mode = "personal"
    oidc_config: dict | None = None

    def get_context_data(self, **kwargs):
        # Every live metric's tile, as its module declares it (metrics/definition.py): the
        # page shows those its user may see, in this order.
        # JSON in an attribute, not an inline script: the page's policy runs no inline code.
        return {
            **super().get_context_data(**kwargs),
            "tile_specs": json.dumps(tile_specs()),
            "idle_signout_seconds": idle_signout_seconds(),
            "mode": self.mode,
            # Single sign-on (docs/sign-in.md): where the page sends people to sign in.
            "oidc": json.dumps(self.oidc_config) if self.oidc_config else "",
            "local_accounts": settings.DASHBOARD_LOCAL_ACCOUNTS,
        }

    def get(self, request, *args, **kwargs):
        self.oidc_config = oidc.page_config() if self.mode == "personal" else None
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = content_security_policy(self.oidc_config)
        response["Referrer-Policy"] = "same-origin"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class DisplayView(DashboardView):
    """`/display/`: a wall display. It shows a pairing code until an admin confirms it, then the
    live dashboard with the display's own credential; no sign-in form, no idle sign-out."""

    mode = "display"
