"""Servers on Redis with no listener say so, and recover when one starts (real processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import urllib.error
import urllib.request

import pytest

from metrics import store
from metrics.scope import Scope
from metrics.selectors import compute_metric
from tests.ops.sockets import RecordingSocket, wait_for
from tests.servers import LiveServer

pytestmark = pytest.mark.slow

STALE_SECONDS = 4


def heartbeat_age(server: LiveServer) -> float:
    """The server's `dashboard_listener_heartbeat_age_seconds` gauge."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(r"^dashboard_listener_heartbeat_age_seconds ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1))


def admit(count: int) -> None:
    store.get_database().patients.insert_many(
        [
            {
                "departmentId": "ER",
                "status": "admitted",
                "isActive": True,
                "registeredAt": dt.datetime.now(dt.UTC),
            }
            for _ in range(count)
        ]
    )


async def test_no_listener_is_reported_then_one_starts_and_updates_flow(
    tmp_path, hospital_store, redis_url, unique_prefix, server_database_url
):
    env = {
        "REDIS_URL": redis_url,
        "DASHBOARD_CHANNEL_PREFIX": unique_prefix,
        "DASHBOARD_LISTENER_STALE_SECONDS": str(STALE_SECONDS),
    }
    server = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env=env,
        listener="off",
        database_url=server_database_url,
        serve_args=("--workers", "1"),
    )
    listener = None
    try:
        token = await asyncio.to_thread(server.token, "superadmin")
        socket = RecordingSocket(server, token).start()
        await socket.ready.wait()

        def listener_down() -> bool:
            return any(
                m["status"] == "degraded" and "listener_down" in m.get("detail", "")
                for _, m in socket.statuses()
            )

        # No listener at all: within 20 s the server says so, on the socket and in /health/.
        assert await wait_for(listener_down, 20), socket.statuses()
        body = await asyncio.to_thread(server.health)
        assert body["status"] == "degraded", body
        assert body["checks"]["listener"]["ok"] is False
        assert "no listener heartbeat" in body["checks"]["listener"]["error"]
        assert await asyncio.to_thread(heartbeat_age, server) > STALE_SECONDS

        # `serve --listener on` on Redis (what `make run` does with REDIS_URL) starts one.
        started = time.monotonic()
        listener = LiveServer.start(
            tmp_path / "listener",
            store_path=hospital_store,
            env=env,
            listener="on",
            database_url=server_database_url,
            prepare=False,
        )
        assert await wait_for(lambda: socket.first_status("recovered", started), 20), (
            socket.statuses()
        )
        assert await wait_for(lambda: socket.statuses()[-1][1]["status"] == "connected", 5)
        admit(3)
        expected = compute_metric("patientCount", Scope.all())
        assert expected["total"] == 3
        assert await wait_for(lambda: socket.latest()["patientCount"] == expected, 15), (
            socket.latest().get("patientCount")
        )
        body = await asyncio.to_thread(server.health)
        assert body["status"] == "ok", body
        assert body["checks"]["listener"]["heartbeatAgeSeconds"] < STALE_SECONDS
        assert await asyncio.to_thread(heartbeat_age, server) < STALE_SECONDS
        assert not socket.versions_gone_back() and not socket.errors()
        await socket.close()
    finally:
        server.stop()
        if listener is not None:
            listener.stop()
    for process in (server, listener):
        assert "Traceback" not in process.log()
