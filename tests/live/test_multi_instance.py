"""Two instances on one Redis with one active listener: a client on either gets every update."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.request

import pytest
import websockets

from metrics import store
from tests.redis_server import RedisServer
from tests.servers import LiveServer

pytestmark = pytest.mark.slow


async def next_total(ws, wanted: int, timeout: float = 10) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "dashboard_update" and message["data"]["total"] == wanted:
                return message


def get_json(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_two_instances_share_redis_and_one_listener(tmp_path, hospital_store):
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    database = tmp_path / "dashboard.sqlite3"
    env = {"REDIS_URL": redis.url}
    first = LiveServer.start(
        tmp_path / "a", store_path=hospital_store, env=env, database_path=database, listener="on"
    )
    second = LiveServer.start(
        tmp_path / "b",
        store_path=hospital_store,
        env=env,
        database_path=database,
        listener="on",
        prepare=False,
    )
    try:
        token = await asyncio.to_thread(first.token, "superadmin")
        async with (
            websockets.connect(first.ws_url, origin=first.url) as on_first,
            websockets.connect(second.ws_url, origin=second.url) as on_second,
        ):
            for ws in (on_first, on_second):
                await ws.send(json.dumps({"type": "authenticate", "token": token}))
                await ws.send(
                    json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]})
                )
                await next_total(ws, 0)
            store.get_database().patients.insert_one(
                {
                    "departmentId": "ER",
                    "status": "admitted",
                    "isActive": True,
                    "registeredAt": dt.datetime.now(dt.UTC),
                }
            )
            await next_total(on_first, 1)
            await next_total(on_second, 1)

        active = []
        for server in (first, second):
            with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
                text = response.read().decode()
            active.append("dashboard_listener_active 1.0" in text)
        assert sorted(active) == [False, True]

        for _ in range(50):
            status, body = await asyncio.to_thread(get_json, first.url + "/api/instances/", token)
            if status == 200 and len(body["instances"]) == 2:
                break
            await asyncio.sleep(0.2)
        assert status == 200
        assert {item["address"] for item in body["instances"]} == {
            f"127.0.0.1:{first.port}",
            f"127.0.0.1:{second.port}",
        }
        viewer = await asyncio.to_thread(first.token, "viewer")
        status, body = await asyncio.to_thread(get_json, first.url + "/api/instances/", viewer)
        assert status == 403 and body["code"] == "forbidden"

        # Any dashboard user may ask where a new connection should go.
        addresses = {f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"}
        pick = first.url + "/api/instances/pick/?strategy="
        status, body = await asyncio.to_thread(get_json, pick + "least-connections", viewer)
        assert status == 200 and body["address"] in addresses
        assert set(body) == {"address"}  # no instance id (host name, process) for a viewer
        superadmin = await asyncio.to_thread(first.token, "superadmin")
        status, body = await asyncio.to_thread(get_json, pick + "least-connections", superadmin)
        assert status == 200 and set(body) == {"id", "address"}
        turns = [await asyncio.to_thread(get_json, pick + "round-robin", viewer) for _ in range(2)]
        assert {body["address"] for _, body in turns} == addresses  # each in turn
        status, body = await asyncio.to_thread(get_json, pick + "random", viewer)
        assert status == 400 and body["code"] == "invalid_strategy"
    finally:
        first.stop()
        second.stop()
        redis.stop()
