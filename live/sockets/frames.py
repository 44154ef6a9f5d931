"""WebSocket frames built once per broadcast and written straight to each socket's transport.

A broadcast goes to thousands of sockets with the same bytes. Through ASGI,
each socket would encode the text and build the frame again (and daphne would
go through autobahn); here the frame is built once (`text_frame`) and each
socket's transport gets it with one `write`, handed to the kernel at once on
both servers (daphne's Twisted transport would otherwise hold it until the
reactor's next turn). That needs the server's own connection object behind the
ASGI `send` callable, which `direct_writer` finds for the two servers
`manage.py serve` runs (uvicorn's websockets-sansio protocol, daphne's autobahn
protocol); for any other server (and in tests through WebsocketCommunicator)
there is none and sockets are written through ASGI as usual. A frame is only
written while the connection is open, with no frame of its own half sent and
no compression negotiated (the servers are run without it, see
live/sockets/servers.py), so the server's own state never disagrees with what
went out.

Those connection objects are the servers' internals, not their API: a new
release may rename them. `check_internals` looks for every name used here when
a server process starts, and the first socket's writer reads each of them
once; if any is missing, direct writes are turned off for the process (one
warning, `dashboard_direct_writes` 0) and every frame goes through ASGI
`send`, slower but the same on the wire. requirements/runtime.lock pins the
versions this was written for.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib
import logging
import socket
import struct
import termios
from collections.abc import Callable
from typing import Any, Protocol

from runtime import telemetry

logger = logging.getLogger("dashboard.ws")

_FIN_TEXT = 0x81
# The kernel's send buffer of each socket (Linux doubles it): dashboards receive a few KB a
# second, and a socket that stops reading should back up into its outbox (live/sockets/outbox.py)
# within seconds, where it is noticed and conflated, rather than into the kernel's memory.
# 32 KiB in flight still carries 300 KB/s over a 100 ms round trip.
SEND_BUFFER_BYTES = 16 * 1024


def text_frame(text: str) -> bytes:
    """An unmasked, unfragmented text frame (RFC 6455 section 5.2), as a server sends it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((_FIN_TEXT, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", _FIN_TEXT, 126, size)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, 127, size)
    return header + payload


def close_frame(code: int) -> bytes:
    """A close frame with `code` and no reason."""
    return struct.pack("!BBH", 0x88, 2, code)


class DirectWriter(Protocol):
    def open(self) -> bool:
        """May a frame be written now (connection open, nothing half sent)?"""

    def write(self, frame: bytes) -> None: ...

    def buffered(self) -> int:
        """Bytes written but not yet handed to the kernel."""

    def unread(self) -> int:
        """Bytes handed to the kernel that the peer has not acknowledged yet (0 if unknown)."""

    def abort(self) -> None:
        """Drop the connection at once, unsent bytes and all."""


class _UvicornWriter:
    def __init__(self, connection: Any) -> None:
        from websockets.protocol import State

        self._connection = connection
        self._open = State.OPEN
        self._transport = connection.transport
        self._socket = self._transport.get_extra_info("socket")
        # Negotiated in the handshake, before the writer exists: read once, not at every frame.
        self._plain = not connection.conn.extensions
        _bound_send_buffer(self._socket)
        self.open()
        self.buffered()

    def open(self) -> bool:
        connection = self._connection
        return (
            self._plain
            and not connection.close_sent
            and not connection.disconnected
            and connection.conn.state is self._open
        )

    def write(self, frame: bytes) -> None:
        self._transport.write(frame)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def unread(self) -> int:
        return kernel_unsent(self._socket)

    def abort(self) -> None:
        self._transport.abort()


class _DaphneWriter:
    def __init__(self, server: Any, protocol: Any) -> None:
        self._server = server
        self._protocol = protocol
        self._transport = protocol.transport
        self._socket = self._transport.getHandle()
        _bound_send_buffer(self._socket)
        self.open()
        self.buffered()

    def open(self) -> bool:
        protocol = self._protocol
        details = self._server.connections.get(protocol)
        return (
            details is not None
            and "disconnected" not in details
            and protocol.state == protocol.STATE_OPEN
            and protocol.send_state == protocol.SEND_STATE_GROUND
            and protocol._perMessageCompress is None
        )

    def write(self, frame: bytes) -> None:
        # Twisted's `write` only buffers: the bytes go to the kernel when the reactor next finds
        # the socket writable, after the hub has written the whole flush, or a whole burst of
        # flushes queued on the channel layer, to every socket. The outbox would then see a
        # socket that has not fallen behind as behind (`buffered` above HIGH_WATER) and conflate
        # a healthy client's updates. So, as uvicorn's transport does, the kernel gets the frame
        # at once while Twisted holds nothing for the socket; only what it refuses is buffered.
        transport = self._transport
        if transport.connected and not transport.disconnecting and not self.buffered():
            try:
                sent = self._socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # Twisted's own write meets the error and ends the connection
            if sent == len(frame):
                return
            frame = frame[sent:]
        transport.write(frame)

    def buffered(self) -> int:
        # Twisted's FileDescriptor keeps what the kernel has not taken in two parts.
        transport = self._transport
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    def unread(self) -> int:
        return kernel_unsent(self._socket)

    def abort(self) -> None:
        self._transport.abortConnection()


def kernel_unsent(sock: Any) -> int:
    """The socket's send queue in the kernel (Linux TIOCOUTQ: sent but not acknowledged, and not
    yet sent); 0 where the platform cannot tell."""
    try:
        answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (OSError, AttributeError, ValueError):
        return 0
    return struct.unpack("i", answer)[0]


def _bound_send_buffer(sock: Any) -> None:
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


_UVICORN_MODULE = "uvicorn.protocols.websockets.websockets_sansio_impl"
# Every name of a server's internals that the writers above use: (module, class, names). A name
# counts as there when the class (or a base) has it, or one of its methods reads or sets it.
_INTERNALS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "uvicorn": [
        (_UVICORN_MODULE, "WebSocketsSansIOProtocol", ("close_sent", "disconnected", "conn")),
        (_UVICORN_MODULE, "WebSocketsSansIOProtocol", ("transport",)),
        ("websockets.protocol", "Protocol", ("extensions", "state")),
        ("websockets.protocol", "State", ("OPEN",)),
    ],
    "daphne": [
        ("daphne.server", "Server", ("connections",)),
        ("daphne.ws_protocol", "WebSocketProtocol", ("STATE_OPEN", "SEND_STATE_GROUND")),
        ("daphne.ws_protocol", "WebSocketProtocol", ("state", "send_state", "transport")),
        ("daphne.ws_protocol", "WebSocketProtocol", ("_perMessageCompress",)),
        ("twisted.internet.abstract", "FileDescriptor", ("dataBuffer", "offset", "_tempDataLen")),
        ("twisted.internet.abstract", "FileDescriptor", ("connected", "disconnecting")),
        ("twisted.internet.tcp", "Connection", ("abortConnection", "getHandle")),
    ],
}

_disabled: str | None = None  # why direct writes are off in this process, once they are


def missing_internals(server: str) -> list[str]:
    """The names this module needs from `server`'s internals that its installed version lacks."""
    missing = []
    for module_name, class_name, names in _INTERNALS[server]:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{class_name}")
            continue
        missing += [f"{class_name}.{name}" for name in names if not _has_name(cls, name)]
    return missing


def _has_name(cls: type, name: str) -> bool:
    if hasattr(cls, name):
        return True
    for klass in cls.__mro__:
        for member in vars(klass).values():
            code = getattr(member, "__code__", None)
            if code is not None and name in code.co_names:
                return True
    return False


def check_internals(server: str) -> bool:
    """At a server process's start: may frames be written directly? Says so once, and in
    `dashboard_direct_writes`."""
    missing = missing_internals(server)
    if missing:
        disable(f"{server} lacks {', '.join(missing)}")
        return False
    telemetry.direct_writes.set(1)
    return True


def disable(reason: str) -> None:
    """Write every frame through ASGI `send` from now on in this process."""
    global _disabled
    if _disabled is None:
        logger.warning(
            "direct frame writes are off (%s): updates go through ASGI send; "
            "install the versions of requirements/runtime.lock",
            reason,
        )
    _disabled = reason
    telemetry.direct_writes.set(0)


def direct_writer(send: Callable[..., Any]) -> DirectWriter | None:
    """The direct writer behind an ASGI `send` of uvicorn or daphne; None for any other server,
    and once the server's internals turned out not to be what this module expects."""
    if _disabled is not None:
        return None
    try:
        owner = getattr(send, "__self__", None)
        # The protocol class or a subclass of it (live/sockets/servers.py may extend it).
        if any(cls.__module__ == _UVICORN_MODULE for cls in type(owner).__mro__):
            return _UvicornWriter(owner)
        if isinstance(send, functools.partial) and send.args:
            server = getattr(send.func, "__self__", None)
            if type(server).__module__ == "daphne.server":
                return _DaphneWriter(server, send.args[0])
    except AttributeError as exc:
        disable(f"{type(exc).__name__}: {exc}")
    return None
