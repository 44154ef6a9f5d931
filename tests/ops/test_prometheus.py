"""/metrics exposes the service's own figures, and they move as sockets open and changes flow."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets

from metrics import store
from tests.servers import ROOT, LiveServer, free_port, server_env

pytestmark = pytest.mark.slow


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def sample(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def next_update(ws) -> dict:
    """The next dashboard_update on this socket (other messages passed over)."""
    async with asyncio.timeout(15):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "dashboard_update":
                return message


async def test_service_metrics_move_with_connections_and_changes(tmp_path, hospital_store):
    server = LiveServer.start(tmp_path / "server", store_path=hospital_store)
    try:
        before = await asyncio.to_thread(scrape, server.url + "/metrics")
        assert "django_http_requests_total_by_method_total" in before
        for name in (
            "dashboard_ws_connections_active",
            "dashboard_circuit_state",
            "dashboard_listener_active",
        ):
            assert name in before
        token = await asyncio.to_thread(server.token, "superadmin")
        async with (
            websockets.connect(server.ws_url, origin=server.url) as first,
            websockets.connect(server.ws_url, origin=server.url) as second,
        ):
            for ws in (first, second):
                await ws.send(json.dumps({"type": "authenticate", "token": token}))
            await first.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
            current = await next_update(first)  # the value at subscribing, before the change
            store.get_database().patients.insert_one(
                {
                    "departmentId": "ER",
                    "status": "admitted",
                    "isActive": True,
                    "registeredAt": dt.datetime.now(dt.UTC),
                }
            )
            # The change's flush, delivered to the subscribed socket.
            assert (await next_update(first))["version"] > current["version"]
            for _ in range(50):
                during = await asyncio.to_thread(scrape, server.url + "/metrics")
                # The change is counted by the listener before the hub has written it out.
                if (
                    sample(during, "dashboard_changes_processed_total", 'collection="patients"')
                    and sample(during, "dashboard_ws_messages_out_total", 'type="dashboard_update"')
                    and sample(during, "dashboard_flush_delivery_seconds_count", 'tier="critical"')
                ):
                    break
                await asyncio.sleep(0.2)
        assert sample(during, "dashboard_ws_connections_active") == 2
        assert sample(during, "dashboard_ws_connections_total") >= 2
        assert sample(during, "dashboard_changes_processed_total", 'collection="patients"') >= 1
        assert sample(during, "dashboard_ws_messages_in_total", 'type="authenticate"') == 2
        assert sample(during, "dashboard_ws_messages_out_total", 'type="dashboard_update"') >= 1
        assert sample(during, "dashboard_listener_active") == 1
        assert "dashboard_update_latency_seconds_bucket" in during
        # patientCount is critical: its flush went out to the subscribed socket.
        assert sample(during, "dashboard_flush_delivery_seconds_count", 'tier="critical"') >= 1
        for _ in range(50):
            after = await asyncio.to_thread(scrape, server.url + "/metrics")
            if sample(after, "dashboard_ws_connections_active") == 0:
                break
            await asyncio.sleep(0.1)
        assert sample(after, "dashboard_ws_connections_active") == 0
    finally:
        server.stop()


def test_the_listener_process_exports_its_own_metrics(tmp_path, hospital_store):
    port = free_port()
    env = server_env(tmp_path, hospital_store, tmp_path / "listener.sqlite3")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "watch_changes",
            "--duration",
            "20",
            "--metrics-port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        text = ""
        for _ in range(100):
            try:
                text = scrape(f"http://127.0.0.1:{port}/metrics")
                if sample(text, "dashboard_listener_active") == 1:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert sample(text, "dashboard_listener_active") == 1
        assert "dashboard_listener_lag_seconds" in text
    finally:
        process.terminate()
        process.wait(timeout=10)
