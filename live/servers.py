"""The two ASGI servers `manage.py serve` runs, configured so that both speak the same protocol.

Both refuse a frame over 16 KiB while reading its header, before buffering it
(close 1009), and both send every close code the README documents. daphne
needs help for the second: autobahn, underneath it, lets an application close
only with 1000 or 3000-4999 and raises on 1008, 1009 or 1013 (the client got
1011 and the consumer never finished); `ClosingWebSocketProtocol` sends those
codes as RFC 6455 allows a server to. autobahn would also drop the TCP
connection on an oversized frame without a close frame (`failByDrop`); the
dashboard's clients are told why instead.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from .frames import check_internals
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
    from daphne.server import Server  # installs Twisted's asyncio reactor
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import defer, reactor

    from dashboard_project.asgi import application

    check_internals("daphne")

    class ClosingWebSocketProtocol(WebSocketProtocol):
        def serverClose(self, code=None):
            if code in _SERVER_CLOSE_CODES:
                self.sendCloseFrame(code=code, isReply=False)
            else:
                super().serverClose(code=code)

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
    )
    server.run()


def run_uvicorn(serving: Serving) -> None:
    import uvicorn

    from dashboard_project.asgi import application

    check_internals("uvicorn")

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
        http="httptools",
        ws="websockets-sansio",
        # No permessage-deflate: it would compress the same broadcast frame once per socket
        # and undo serializing it once.
        ws_per_message_deflate=False,
        ws_max_size=MAX_FRAME_BYTES,
        ws_ping_interval=settings.DASHBOARD_WS_PING_SECONDS,
        ws_ping_timeout=30,
        timeout_graceful_shutdown=5,
        access_log=False,
        log_level="warning",
    )
    shared = [shared_socket(serving.host, serving.port)] if serving.reuse_port else None
    DashboardServer(config).run(sockets=shared)
