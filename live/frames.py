"""WebSocket frames built once per broadcast and written straight to each socket's transport.

A broadcast goes to thousands of sockets with the same bytes. Through ASGI,
each socket would encode the text and build the frame again (and daphne would
go through autobahn); here the frame is built once (`text_frame`) and each
socket's transport gets it with one `write`. That needs the server's own
connection object behind the ASGI `send` callable, which `direct_writer`
finds for the two servers `manage.py serve` runs (uvicorn's websockets-sansio
protocol, daphne's autobahn protocol); for any other server (and in tests
through WebsocketCommunicator) there is none and sockets are written through
ASGI as usual. A frame is only written while the connection is open, with no
frame of its own half sent and no compression negotiated (the servers are run
without it, see live/servers.py), so the server's own state never disagrees
with what went out.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import socket
import struct
import termios
from collections.abc import Callable
from typing import Any, Protocol

_FIN_TEXT = 0x81
# The kernel's send buffer of each socket (Linux doubles it): dashboards receive a few KB a
# second, and a socket that stops reading should back up into its outbox (live/outbox.py)
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
        _bound_send_buffer(self._socket)

    def open(self) -> bool:
        connection = self._connection
        return (
            not connection.close_sent
            and not connection.disconnected
            and connection.conn.state is self._open
            and not connection.conn.extensions
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
        self._transport.write(frame)

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


def direct_writer(send: Callable[..., Any]) -> DirectWriter | None:
    """The direct writer behind an ASGI `send` of uvicorn or daphne; None for any other server."""
    owner = getattr(send, "__self__", None)
    if type(owner).__module__ == "uvicorn.protocols.websockets.websockets_sansio_impl":
        return _UvicornWriter(owner)
    if isinstance(send, functools.partial) and send.args:
        server = getattr(send.func, "__self__", None)
        if type(server).__module__ == "daphne.server":
            return _DaphneWriter(server, send.args[0])
    return None
