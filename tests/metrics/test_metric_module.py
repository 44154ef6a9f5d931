"""A metric is one module: a throwaway one, added by setting alone, is served everywhere.

The module (tests/metrics/extra/maintenance.py) lives outside the project's packages, as a
hospital's own would; DASHBOARD_EXTRA_METRICS names it. Over a real server (daphne and
uvicorn) it appears in the REST catalogue and snapshot, on the socket (subscribed, updated
by the listener when a room goes into maintenance, and in the socket's snapshot), in the
OpenAPI and AsyncAPI documents and the TypeScript types, and as a tile on the page.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import urllib.request

import pytest
import websockets

from embedded_mongo import EmbeddedClient
from tests.servers import LiveServer

pytestmark = pytest.mark.slow

METRIC = "roomsInMaintenance"


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"extra-metric-{request.param}")
    running = LiveServer.start(
        workdir,
        store_path=str(workdir / "store.sqlite3"),
        env={
            "DASHBOARD_SERVER": request.param,
            "DASHBOARD_EXTRA_METRICS": "tests.metrics.extra.maintenance",
        },
    )
    running.seed("--patients", "120")
    yield running
    running.stop()


def get(server: LiveServer, path: str, token: str | None = None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(server.url + path, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read()


def in_maintenance(server: LiveServer) -> int:
    client = EmbeddedClient(server.store_path)
    try:
        return client["hospital"].rooms.count_documents({"isActive": True, "status": "maintenance"})
    finally:
        client.close()


def test_the_catalogue_and_the_rest_snapshot_serve_it(server):
    token = server.token("superadmin")
    catalogue = json.loads(get(server, "/api/metrics/", token))["metrics"]
    entry = next(entry for entry in catalogue if entry["name"] == METRIC)
    assert entry == {
        "name": METRIC,
        "tier": "standard",
        "ttlSeconds": 30,
        "live": True,
        "allowed": True,
    }
    snapshot = json.loads(get(server, "/api/metrics/snapshot/", token))["metrics"]
    assert snapshot[METRIC]["data"]["total"] == in_maintenance(server)


def test_the_openapi_asyncapi_and_typescript_documents_describe_it(server):
    openapi = json.loads(get(server, "/api/schema/?format=json"))
    component = openapi["components"]["schemas"]["RoomsInMaintenance"]
    assert set(component["properties"]) == {"total", "byDepartment"}
    asyncapi = json.loads(get(server, "/api/asyncapi/"))
    text = json.dumps(asyncapi)
    assert f'"{METRIC}"' in text
    assert "RoomsInMaintenance" in text
    types = get(server, "/api/metrics/types.d.ts").decode()
    assert "export interface RoomsInMaintenance {\n  total: number;" in types
    assert f"  {METRIC}: RoomsInMaintenance;" in types


def test_the_page_has_its_tile(server):
    page = get(server, "/").decode()
    attribute = re.search(r'<body data-tiles="([^"]*)"', page).group(1)
    specs = json.loads(html.unescape(attribute))
    tile = next(spec for spec in specs if spec["metric"] == METRIC)
    assert tile["title"] == "Rooms in maintenance" and tile["kind"] == "summary"


async def _socket_sees_the_metric_move(server: LiveServer, token: str) -> tuple[dict, dict]:
    async with websockets.connect(server.ws_url, origin=server.url, open_timeout=20) as ws:

        async def until(kind: str, predicate=lambda message: True) -> dict:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == kind and predicate(message):
                    return message

        await ws.send(json.dumps({"type": "authenticate", "token": token}))
        authenticated = await until("authenticated")
        assert METRIC in authenticated["metrics"]
        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": [METRIC]}))
        await until("subscriptions")
        await ws.send(json.dumps({"type": "request_snapshot"}))
        snapshot = await until("metrics_snapshot")
        before = snapshot["metrics"][METRIC]["data"]["total"]
        client = EmbeddedClient(server.store_path)
        try:
            client["hospital"].rooms.insert_one(
                {
                    "number": "X-1",
                    "departmentId": "CARD",
                    "type": "ward",
                    "status": "maintenance",
                    "capacity": 2,
                    "occupiedBeds": 0,
                    "isActive": True,
                }
            )
        finally:
            client.close()
        update = await until(
            "dashboard_update",
            lambda message: message["metric"] == METRIC and message["data"]["total"] == before + 1,
        )
        return snapshot, update


def test_the_socket_serves_it_and_the_listener_keeps_it(server):
    snapshot, update = asyncio.run(_socket_sees_the_metric_move(server, server.token("superadmin")))
    assert METRIC in snapshot["metrics"]
    assert update["data"]["byDepartment"].get("CARD", 0) >= 1
