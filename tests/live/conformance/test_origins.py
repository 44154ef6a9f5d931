"""Which sockets may open: the Origin and Host rules, on both servers."""

from __future__ import annotations

import asyncio
import socket

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from .client import Client

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://[::1].evil.com",
        "http://127.0.0.1.evil.com",
        "http://127.0.0.1/path",
        "null",
    ],
)
async def test_foreign_or_malformed_origins_are_refused_at_the_handshake(server, origin):
    with pytest.raises(InvalidStatus) as refused:
        async with Client(server, origin=origin):
            pass
    # autobahn, under daphne, refuses the opaque origin "null" itself, with 400.
    assert refused.value.response.status_code in ((400, 403) if origin == "null" else (403,))


async def test_a_socket_without_origin_is_refused(server):
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(server.ws_url):
            pass
    assert refused.value.response.status_code == 403


async def test_allowed_origins_are_accepted(server):
    for origin in (server.url, f"http://localhost:{server.port}", f"http://[::1]:{server.port}"):
        async with Client(server, origin=origin) as client:
            assert (await client.expect("connection_status"))["status"] == "connected"


def _handshake_status(server, host: str) -> int:
    """The HTTP status of a raw WebSocket handshake with this Host header."""
    request = (
        f"GET /ws/dashboard/ HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: {server.url}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request.encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


async def test_a_foreign_host_header_is_refused(server):
    assert await asyncio.to_thread(_handshake_status, server, f"127.0.0.1:{server.port}") == 101
    assert await asyncio.to_thread(_handshake_status, server, "evil.com") in (400, 403)
