"""A real server (daphne via `manage.py serve`) and real `websockets` clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.request

import pytest
import websockets

from metrics import store
from metrics.scope import Scope
from metrics.selectors import compute_metric
from tests.servers import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(params=["daphne", "uvicorn"])
def server(request, tmp_path, hospital_store):
    """The real server, under each ASGI server `manage.py serve` supports."""
    running = LiveServer.start(
        tmp_path / "server", store_path=hospital_store, env={"DASHBOARD_SERVER": request.param}
    )
    with urllib.request.urlopen(running.url + "/health/live/") as response:
        assert response.headers["Server"].startswith(request.param)
    yield running
    running.stop()


async def receive_type(ws, kind: str, timeout: float = 10.0, predicate=lambda m: True) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind and predicate(message):
                return message


async def test_login_authenticate_subscribe_update_snapshot_history(server):
    token = await asyncio.to_thread(server.token, "superadmin")
    async with websockets.connect(server.ws_url, origin=server.url) as ws:
        assert (await receive_type(ws, "connection_status"))["status"] == "connected"
        await ws.send(json.dumps({"type": "authenticate", "token": token}))
        authenticated = await receive_type(ws, "authenticated")
        assert authenticated["level"] == "super_admin"

        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
        assert (await receive_type(ws, "subscriptions"))["metrics"] == ["patientCount"]
        await receive_type(ws, "dashboard_update")

        db = store.get_database()
        db.patients.insert_one(
            {
                "departmentId": "ER",
                "status": "admitted",
                "isActive": True,
                "registeredAt": dt.datetime.now(dt.UTC),
                "mrn": "X",
                "name": "Y",
            }
        )
        expected = compute_metric("patientCount", Scope.all())
        update = await receive_type(
            ws, "dashboard_update", predicate=lambda m: m["data"] == expected
        )
        assert update["data"]["total"] >= 1

        await ws.send(json.dumps({"type": "request_snapshot"}))
        snapshot = await receive_type(ws, "metrics_snapshot")
        assert snapshot["metrics"]["patientCount"]["data"] == expected

        end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        await ws.send(
            json.dumps(
                {
                    "type": "request_historical",
                    "timeRange": {
                        "start": (end - dt.timedelta(hours=6)).isoformat(),
                        "end": end.isoformat(),
                    },
                }
            )
        )
        historical = await receive_type(ws, "historical_data")
        assert len(historical["hourlyStats"]) == 6


async def test_viewer_over_a_real_socket_sees_no_revenue(server):
    token = await asyncio.to_thread(server.token, "viewer")
    async with websockets.connect(server.ws_url, origin=server.url) as ws:
        await ws.send(json.dumps({"type": "authenticate", "token": token}))
        assert "revenue" not in (await receive_type(ws, "authenticated"))["metrics"]
        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["revenue"]}))
        refused = await receive_type(ws, "error")
        assert refused["code"] == "forbidden" and refused["metrics"] == ["revenue"]


async def test_foreign_origin_is_refused_by_the_real_server(server):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(server.ws_url, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
