"""Every close code, as a real client receives it, and slot accounting that cannot leak.

After each case `dashboard_ws_connections_active` is back where it started:
however a socket ends, its slot is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import sqlite3
import urllib.parse

import pytest
import websockets

from tests.servers import manage

from .client import Client, connections_back_to, gauge
from .conftest import EVICT_AFTER, MAX_CONNECTIONS, MAX_UNAUTHENTICATED, short_lived

pytestmark = pytest.mark.slow


@pytest.fixture
async def baseline(server):
    active = await asyncio.to_thread(gauge, server, "dashboard_ws_connections_active")
    assert active == 0, "a previous case left sockets counted"
    yield active
    await connections_back_to(server, active)


async def test_a_frame_over_16_kib_closes_with_1009(server, baseline):
    async with Client(server) as client:
        await client.expect("connection_status")
        await client.send("x" * 20_000)
        assert await client.close_code() == 1009
    await connections_back_to(server, baseline)


async def test_a_burst_of_120_messages_closes_with_1008(server, baseline):
    async with Client(server) as client:
        await client.expect("connection_status")
        for _ in range(120):
            await client.send(json.dumps({"type": "ping"}))
        assert await client.close_code() == 1008
    await connections_back_to(server, baseline)


async def test_authentication_closes_with_4001(server, tokens, baseline):
    async def never_authenticates() -> int:
        async with Client(server) as client:
            return await client.close_code(timeout=15)  # 10 s allowed

    async def fails_three_times() -> int:
        async with Client(server) as client:
            await client.expect("connection_status")
            for _ in range(3):
                await client.send({"type": "authenticate", "token": "not-a-token"})
                assert (await client.expect("auth_error"))["error"] == "invalid_token"
            return await client.close_code()

    async def lets_its_token_expire() -> int:
        async with Client(server) as client:
            await client.authenticate(short_lived(tokens["viewer"], 2))
            assert (await client.expect("auth_error", timeout=5))["error"] == "token_expired"
            paused = await client.request({"type": "ping"}, "error")
            assert paused["code"] == "not_authenticated"
            return await client.close_code(timeout=15)  # 10 s of grace

    codes = await asyncio.gather(
        never_authenticates(), fails_three_times(), lets_its_token_expire()
    )
    assert codes == [4001, 4001, 4001]
    await connections_back_to(server, baseline)


async def test_revoked_access_closes_with_4003(server, baseline):
    manage(
        "create_dashboard_user",
        "leaver",
        "--level",
        "viewer",
        "--password",
        "leaver-pass-1",
        env=server.env,
    )
    token = await asyncio.to_thread(server.login, "leaver", "leaver-pass-1")
    async with Client(server) as client:
        await client.authenticate(token)
        _set_active(server, "leaver", False)
        try:
            revoked = await client.expect("auth_error", timeout=10)
            assert revoked["error"] == "user_inactive"
            assert await client.close_code() == 4003
        finally:
            _set_active(server, "leaver", True)
    await connections_back_to(server, baseline)


async def test_a_full_server_closes_newcomers_with_1013(server, tokens, baseline):
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(MAX_CONNECTIONS):
            client = await stack.enter_async_context(Client(server))
            await client.authenticate(tokens["viewer"])
        assert await asyncio.to_thread(gauge, server, "dashboard_ws_connections_active") == (
            MAX_CONNECTIONS
        )
        async with Client(server) as newcomer:
            assert await newcomer.close_code() == 1013
    await connections_back_to(server, baseline)


async def test_sockets_not_signed_in_make_room_for_newcomers(server, tokens, baseline):
    """Three slots for sockets not signed in here: a fourth is refused (1013) while they have
    just arrived, and takes the oldest's slot (1013 to it) once that one waited too long."""
    async with contextlib.AsyncExitStack() as stack:
        waiting = []
        for _ in range(MAX_UNAUTHENTICATED):
            waiting.append(await stack.enter_async_context(Client(server)))
            await waiting[-1].expect("connection_status")
        async with Client(server) as refused:
            assert await refused.close_code() == 1013
        await asyncio.sleep(EVICT_AFTER + 0.2)
        async with Client(server) as newcomer:
            assert await waiting[0].close_code() == 1013
            await newcomer.authenticate(tokens["viewer"])
            for still_open in waiting[1:]:
                assert (await still_open.request({"type": "ping"}, "error"))["code"] == (
                    "not_authenticated"
                )
    await connections_back_to(server, baseline)


async def test_floods_of_anonymous_sockets_leak_nothing_and_lock_nobody_out(
    server, tokens, baseline
):
    async def sending(frames: list[str]) -> int:
        """Send the frames (the server may close meanwhile); the code the server closed with."""
        async with Client(server) as client:
            try:
                for frame in frames:
                    await client.send(frame)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1
            return await client.close_code()

    # Many are evicted by newer ones (1013) before they are done: sockets not signed in
    # hold three slots here.
    closes = await asyncio.gather(*(sending(["y" * 1024 * 1024]) for _ in range(20)))
    assert set(closes) <= {1009, 1013} and 1009 in closes, closes
    await connections_back_to(server, baseline)
    closes = await asyncio.gather(*(sending(["{}"] * 120) for _ in range(20)))
    assert set(closes) <= {1008, 1013} and 1008 in closes, closes
    await connections_back_to(server, baseline)

    async with contextlib.AsyncExitStack() as stack:
        for _ in range(30):  # held open, never signing in (most are refused: 3 slots)
            await stack.enter_async_context(Client(server))
        await asyncio.sleep(EVICT_AFTER + 0.2)
        async with Client(server) as user:
            authenticated = await user.authenticate(tokens["admin"])
            assert authenticated["level"] == "admin"
            assert (await user.request({"type": "ping"}, "pong"))["type"] == "pong"
    await connections_back_to(server, baseline)


def _set_active(server, username: str, active: bool) -> None:
    database = server.workdir / "dashboard.sqlite3"
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.execute(
            "UPDATE auth_user SET is_active = ? WHERE username = ?", (int(active), username)
        )
        connection.commit()


async def test_a_subscriber_that_stops_reading_is_closed_with_4008(
    server, tokens, hospital, baseline
):
    """A dashboard that reads nothing more (a 4 KiB receive window, its transport paused) while
    updates keep coming is closed with 4008 once it has left them unread for
    DASHBOARD_SLOW_SOCKET_SECONDS; reading again, it finds the close frame after them."""
    address = urllib.parse.urlsplit(server.url)
    small = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    small.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    small.connect((address.hostname, address.port))
    closed_before = await asyncio.to_thread(gauge, server, "dashboard_ws_slow_closed_total")
    async with Client(server, sock=small) as client:
        await client.authenticate(tokens["superadmin"])
        await client.request(
            {"type": "subscribe_metrics", "metrics": ["patientCount"]}, "subscriptions"
        )
        await client.expect("dashboard_update", metric="patientCount")
        client.ws.transport.pause_reading()
        deadline = asyncio.get_running_loop().time() + 30
        admitted = 0
        while asyncio.get_running_loop().time() < deadline:
            for _ in range(5):
                admitted += 1
                hospital.patients.insert_one(
                    {
                        "mrn": f"SLOW-{admitted}",
                        "name": "Slow reader",
                        "departmentId": "ER",
                        "status": "admitted",
                        "registeredAt": dt.datetime.now(dt.UTC),
                        "isActive": True,
                    }
                )
                await asyncio.sleep(0.05)
            closed = await asyncio.to_thread(gauge, server, "dashboard_ws_slow_closed_total")
            if closed > closed_before:
                break
        else:
            pytest.fail(f"not closed for being slow after {admitted} admissions")
        client.ws.transport.resume_reading()
        assert await client.close_code() == 4008
