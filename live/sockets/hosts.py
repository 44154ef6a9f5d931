"""The outermost ASGI layer: every HTTP request and WebSocket handshake names a host we serve.

Django checks Host only when a view asks for it (and logs a traceback when it
is wrong); uvicorn passes any Host to the application. Here each request is
checked once, on both servers, before anything else runs: a Host outside
DJANGO_ALLOWED_HOSTS gets HTTP 400 (plain text), a WebSocket handshake HTTP
403 (the handshake is refused before it is accepted), and the log one
line through live/sockets/clienterrors.py.

A request target in absolute form (`GET http://evil.com/health/live/`) names
its host itself, and RFC 9112 section 3.2.2 says that host replaces the Host
header. uvicorn's parser hands the application only the path, so
live/sockets/servers.py moves the target's host into the Host header first; daphne
hands over the whole target as the path, which is taken apart here.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from runtime import telemetry

from . import clienterrors
from .origins import host_allowed

_SCHEMES = frozenset({"http", "https", "ws", "wss"})


def _host_header(scope: dict[str, Any]) -> str | None:
    # Repeated Host headers are joined, as Django joins them, and so never valid.
    values = [value for name, value in scope.get("headers", ()) if name == b"host"]
    if not values:
        return None
    return b",".join(values).decode("latin-1")


def _with_host(scope: dict[str, Any], host: str) -> list[tuple[bytes, bytes]]:
    headers = [(name, value) for name, value in scope.get("headers", ()) if name != b"host"]
    return [(b"host", host.encode("latin-1")), *headers]


def absolute_target(target: str) -> tuple[str, str]:
    """An absolute-form request target (`http://host[:port]/path?query`) as (host, origin-form
    target); host '' when `target` is not one (no scheme of ours, no host, or user info)."""
    parts = urllib.parse.urlsplit(target)
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc or "@" in parts.netloc:
        return "", "/"
    query = f"?{parts.query}" if parts.query else ""
    return parts.netloc, (parts.path or "/") + query


def origin_form(scope: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The scope with an origin-form path (an absolute-form target's host moved into Host),
    and the host the request is for ('' when the target is neither form)."""
    path = scope.get("path", "")
    if path.startswith("/"):
        host = _host_header(scope)
        if host is None and scope.get("server"):
            # No Host at all (HTTP/1.0): the address the request came in on, as Django does.
            server_host, server_port = scope["server"][0], scope["server"][1]
            host = f"{server_host}:{server_port}" if server_port else str(server_host)
        return scope, host or ""
    host, _ = absolute_target(path)
    if not host:
        return scope, ""
    _, raw_path = absolute_target(scope.get("raw_path", b"").decode("latin-1"))
    rewritten = {
        **scope,
        "path": urllib.parse.urlsplit(path).path or "/",
        "raw_path": raw_path.encode("latin-1"),
        "headers": _with_host(scope, host),
    }
    return rewritten, host


class AllowedHosts:
    """ASGI middleware: requests for a host outside ALLOWED_HOSTS never reach the application."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.application(scope, receive, send)
        scope, host = origin_form(scope)
        if host_allowed(host):
            return await self.application(scope, receive, send)
        clienterrors.report(scope.get("client"), f"host {host[:100]!r} not allowed")
        if scope["type"] == "http":
            return await _bad_request(send)
        telemetry.connections_failed.labels(reason="host").inc()
        message = await receive()  # websocket.connect
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})


async def _bad_request(send) -> None:
    body = b"Bad Request: this host is not served here.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
