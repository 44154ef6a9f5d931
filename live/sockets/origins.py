"""Which sockets may open: a `Host` and an `Origin` whose hosts are in DJANGO_ALLOWED_HOSTS.

Browsers send `Origin` as `scheme://host[:port]` and nothing else (RFC 6454), so
anything else is refused: a path, user info, or a bracketed IPv6 literal
followed by more text (`http://[::1].evil.com` is not `[::1]`; a lenient URL
parser reads its host as `::1`). The `Host` header is checked the way Django
checks it for HTTP requests, so that every ASGI server refuses the same
sockets. A refused socket gets HTTP 403 at the handshake.
"""

from __future__ import annotations

import re

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from runtime import telemetry

from . import auditing

_ORIGIN = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?"
)


def origin_host(origin: str) -> str | None:
    """The host of a well-formed Origin (IPv6 in brackets, lower case); None if malformed."""
    match = _ORIGIN.fullmatch(origin)
    return match.group("host").lower() if match else None


def origin_allowed(origin: str | None) -> bool:
    host = origin_host(origin) if origin else None
    return host is not None and validate_host(host, settings.ALLOWED_HOSTS)


def host_allowed(host_header: str | None) -> bool:
    if not host_header:
        return False
    domain, _ = split_domain_port(host_header)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


class AllowedHostAndOrigin:
    """ASGI middleware for WebSocket routes: refuse sockets from elsewhere."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if not host_allowed(_header(scope, b"host")):
            reason = "host"
        elif not origin_allowed(_header(scope, b"origin")):
            reason = "origin"
        else:
            return await self.application(scope, receive, send)
        telemetry.connections_failed.labels(reason=reason).inc()
        auditing.handshake_refused(scope, reason)
        return await WebsocketDenier()(scope, receive, send)
