"""The two ASGI servers `manage.py serve` runs, configured so that both speak the same protocol.

Both refuse a frame over 16 KiB while reading its header, before buffering it
(close 1009), and both send every close code docs/websocket-api.md documents. daphne
needs help for the second: autobahn, underneath it, lets an application close
only with 1000 or 3000-4999 and raises on 1008, 1009 or 1013 (the client got
1011 and the consumer never finished); `ClosingWebSocketProtocol` sends those
codes as RFC 6455 allows a server to. autobahn would also drop the TCP
connection on an oversized frame without a close frame (`failByDrop`); the
dashboard's clients are told why instead.

Both believe X-Forwarded-For only from the proxies of DASHBOARD_TRUSTED_PROXIES
and take from it the nearest address that is not one of them
(runtime/proxies.py): uvicorn by its own `forwarded_allow_ips`
(never its default, which trusts 127.0.0.1), daphne through `forwarded_client`
below, since its own reading trusts any peer and the leftmost address. Both
hand absolute-form request targets and invalid UTF-8 to the edge checks
(live/sockets/hosts.py, live/sockets/uvicorn_protocols.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from runtime.proxies import TrustedProxies

from . import clienterrors
from .frames import check_internals
from .hosts import absolute_target
from .protocol import MAX_FRAME_BYTES

# Codes a server may send (RFC 6455 section 7.4.1, 1013 from the IANA registry) that
# autobahn's application-level close refuses.
_SERVER_CLOSE_CODES = frozenset({1001, 1008, 1009, 1011, 1013})


@dataclass(frozen=True)
class Serving:
    """Where a server listens, and what it calls: `ready` once it accepts connections,
    `shutdown` before it stops. `reuse_port`: one worker of several on a shared port."""

    host: str
    port: int
    ready: Callable[[], None]
    shutdown: Callable[[], Awaitable[None]]
    reuse_port: bool = False


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers of the instance bind too (SO_REUSEPORT): the
    kernel spreads new connections over them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listening.bind((host, port))
    listening.listen(2048)
    listening.setblocking(False)
    return listening


def run_daphne(serving: Serving) -> None:
    from channels.routing import get_default_application
    from daphne.server import Server  # installs Twisted's asyncio reactor
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import defer, reactor

    application = get_default_application()  # ASGI_APPLICATION, as the settings compose it
    check_internals("daphne")
    trusted = TrustedProxies(settings.DASHBOARD_TRUSTED_PROXIES)
    if trusted:
        believe_trusted_proxies_only(trusted)

    class ClosingWebSocketProtocol(WebSocketProtocol):
        def serverClose(self, code=None):
            if code in _SERVER_CLOSE_CODES:
                self.sendCloseFrame(code=code, isReply=False)
            else:
                super().serverClose(code=code)

        def onConnect(self, request):
            # autobahn takes only the path of an absolute-form target (`GET http://evil.com/ws/`);
            # the host it names replaces Host (RFC 9112 3.2.2), for live/sockets/hosts.py to check.
            target = getattr(self, "http_request_uri", "/")
            if not target.startswith("/"):
                request.headers["host"], _ = absolute_target(target)
            return super().onConnect(request)

        def _invalid_payload(self, reason):
            # autobahn's hook for a text frame (or close reason) that is not UTF-8: it closes
            # with 1007; the log gets the one line both servers write. autobahn may call it
            # again for the same message (at its end), hence once per connection.
            if not getattr(self, "invalid_payload_reported", False):
                self.invalid_payload_reported = True
                clienterrors.report(
                    getattr(self, "client_addr", None),
                    "invalid UTF-8 in a text frame (closed 1007)",
                )
            return super()._invalid_payload(reason)

    def configured_ready() -> None:
        # The factory exists once run() starts and no connection is made before this call.
        server.ws_factory.protocol = ClosingWebSocketProtocol
        server.ws_factory.setProtocolOptions(failByDrop=False)
        serving.ready()

    def stop_first() -> defer.Deferred:
        return defer.Deferred.fromFuture(asyncio.ensure_future(serving.shutdown()))

    # The interface declares its methods without self, which type checkers misread.
    reactor.addSystemEventTrigger("before", "shutdown", stop_first)  # type: ignore[arg-type]
    host, port = serving.host, serving.port
    if serving.reuse_port:
        if ":" in host:
            raise ValueError("daphne workers listen on IPv4 only; use uvicorn for IPv6")
        # Twisted adopts the descriptor (and closes it): the socket object lets go of it.
        endpoint = f"fd:fileno={shared_socket(host, port).detach()}"
    else:
        endpoint = f"tcp:port={port}:interface={host}"
    server = Server(
        application=application,
        endpoints=[endpoint],
        signal_handlers=True,
        ready_callable=configured_ready,
        websocket_timeout=-1,
        # Generous handshake limits: when thousands of dashboards reconnect at once (a
        # deploy, a network blip), a busy loop must not refuse them for being slow.
        websocket_handshake_timeout=20,
        websocket_connect_timeout=60,
        # The frame limit only: autobahn holds its message limit against what the server sends
        # too, and would silently drop every reply over 16 KiB (a week of trends). A message
        # of several small frames is measured by the consumer.
        websocket_max_frame_size=MAX_FRAME_BYTES,
        ping_interval=settings.DASHBOARD_WS_PING_SECONDS,
        ping_timeout=30,
        application_close_timeout=5,
        # Only with trusted proxies, and then read by `forwarded_client`, peer checked.
        proxy_forwarded_address_header="X-Forwarded-For" if trusted else None,
        proxy_forwarded_port_header="X-Forwarded-Port" if trusted else None,
        proxy_forwarded_proto_header="X-Forwarded-Proto" if trusted else None,
    )
    server.run()


def believe_trusted_proxies_only(trusted: TrustedProxies) -> None:
    """Make daphne read forwarded headers as `forwarded_client` does: from trusted peers only,
    and the nearest untrusted address. daphne's own function is named in each module that
    calls it; if a release moves it, start-up stops rather than trust every peer."""
    import daphne.http_protocol
    import daphne.ws_protocol

    callers = (daphne.http_protocol, daphne.ws_protocol)
    if not all(hasattr(module, "parse_x_forwarded_for") for module in callers):
        raise RuntimeError(
            "this daphne has no parse_x_forwarded_for to replace: DASHBOARD_TRUSTED_PROXIES "
            "cannot be honoured; install the versions of requirements/runtime.lock or use uvicorn"
        )

    def forwarded_client(
        headers,
        address_header_name="X-Forwarded-For",
        port_header_name="X-Forwarded-Port",
        proto_header_name="X-Forwarded-Proto",
        original_addr=None,
        original_scheme=None,
    ):
        if not original_addr or not trusted.trusts(original_addr[0]):
            return original_addr, original_scheme
        values = _header_values(headers)
        forwarded = values.get(address_header_name.lower().encode(), [])
        if not forwarded:
            return original_addr, original_scheme
        client = trusted.client(original_addr[0], [v.decode("latin-1") for v in forwarded])
        port = 0
        if port_header_name:
            ports = values.get(port_header_name.lower().encode(), [])
            if ports and ports[-1].strip().isdigit():
                port = int(ports[-1])
        scheme = original_scheme
        if proto_header_name:
            protos = values.get(proto_header_name.lower().encode(), [])
            if protos and protos[-1].strip().decode("latin-1") in ("http", "https", "ws", "wss"):
                scheme = protos[-1].strip().decode("latin-1")
        return [client, port], scheme

    for module in callers:
        module.parse_x_forwarded_for = forwarded_client


def _header_values(headers) -> dict[bytes, list[bytes]]:
    """Header values by lower-case name, from Twisted's Headers (HTTP) or a dict (WebSocket)."""
    if hasattr(headers, "getAllRawHeaders"):
        pairs = [(name, value) for name, values in headers.getAllRawHeaders() for value in values]
    else:
        pairs = list(headers.items())
    values: dict[bytes, list[bytes]] = {}
    for name, value in pairs:
        values.setdefault(name.lower(), []).append(value)
    return values


def run_uvicorn(serving: Serving) -> None:
    import uvicorn
    from channels.routing import get_default_application

    application = get_default_application()  # ASGI_APPLICATION, as the settings compose it
    check_internals("uvicorn")
    from .uvicorn_protocols import ClientErrorWebSocketProtocol, OriginFormHttpToolsProtocol

    class DashboardServer(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            serving.ready()

        async def shutdown(self, sockets=None) -> None:
            await serving.shutdown()
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(
        application,
        host=serving.host,
        port=serving.port,
        lifespan="off",  # the ASGI router has no lifespan handler; startup() does its work
        loop="uvloop",
        http=OriginFormHttpToolsProtocol,
        ws=ClientErrorWebSocketProtocol,
        # No permessage-deflate: it would compress the same broadcast frame once per socket
        # and undo serializing it once.
        ws_per_message_deflate=False,
        ws_max_size=MAX_FRAME_BYTES,
        ws_ping_interval=settings.DASHBOARD_WS_PING_SECONDS,
        ws_ping_timeout=30,
        timeout_graceful_shutdown=5,
        access_log=False,
        log_level="warning",
        # X-Forwarded-For from the trusted proxies only; an empty list with the headers off
        # (uvicorn's default would trust 127.0.0.1, or FORWARDED_ALLOW_IPS).
        proxy_headers=bool(settings.DASHBOARD_TRUSTED_PROXIES),
        forwarded_allow_ips=list(settings.DASHBOARD_TRUSTED_PROXIES),
    )
    shared = [shared_socket(serving.host, serving.port)] if serving.reuse_port else None
    DashboardServer(config).run(sockets=shared)
