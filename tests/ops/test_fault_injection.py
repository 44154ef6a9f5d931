"""Graceful degradation, proven by killing Redis and cutting MongoDB under a stream of changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest
import websockets
from pymongo import MongoClient

from metrics import store
from metrics.scope import Scope
from metrics.selectors import compute_metric
from tests.ops.sockets import versions_gone_back
from tests.redis_server import RedisServer
from tests.servers import LiveServer
from tests.store.support import MONGODB_TEST_URI
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


class Writer(threading.Thread):
    """Inserts an admitted patient every `interval` seconds until stopped."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.failures = 0
        self.written = 0

    def run(self) -> None:
        db = store.get_database()
        while not self.stopped.wait(self.interval):
            try:
                db.patients.insert_one(
                    {
                        "departmentId": "ER",
                        "status": "admitted",
                        "isActive": True,
                        "registeredAt": dt.datetime.now(dt.UTC),
                    }
                )
                self.written += 1
            except Exception:
                self.failures += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class Client:
    """A dashboard socket that records everything it receives."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.messages: list[dict] = []

    async def run(self, token: str, ready: asyncio.Event, done: asyncio.Event) -> None:
        async with websockets.connect(self.server.ws_url, origin=self.server.url) as ws:
            await ws.send(json.dumps({"type": "authenticate", "token": token}))
            await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
            ready.set()
            while not done.is_set():
                try:
                    self.messages.append(json.loads(await asyncio.wait_for(ws.recv(), 0.5)))
                except TimeoutError:
                    continue

    def totals(self) -> list[int]:
        return [
            m["data"]["total"]
            for m in self.messages
            if m["type"] == "dashboard_update" and m["metric"] == "patientCount"
        ]

    def statuses(self) -> list[str]:
        return [m["status"] for m in self.messages if m["type"] == "connection_status"]

    def versions_gone_back(self) -> list[tuple[dict, dict]]:
        return versions_gone_back([m for m in self.messages if m["type"] == "dashboard_update"])


def instances(server: LiveServer, token: str) -> tuple[int, str | None]:
    request = urllib.request.Request(
        server.url + "/api/instances/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["code"]


async def wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def test_redis_dies_and_returns_under_a_stream_of_changes(tmp_path, hospital_store, redis):
    server = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={"REDIS_URL": redis.url, "DASHBOARD_LISTENER_IN_PROCESS": "true"},
    )
    writer = Writer()
    try:
        token = await asyncio.to_thread(server.token, "superadmin")
        client = Client(server)
        ready, done = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(client.run(token, ready, done))
        await ready.wait()
        writer.start()
        assert await wait_for(lambda: len(client.totals()) >= 3, 10)

        redis.kill()
        assert await wait_for(lambda: "degraded" in client.statuses(), 15)
        assert (await asyncio.to_thread(server.health))["status"] == "degraded"
        # Logging in still works (throttle counts kept locally); the registry says it is away.
        assert await asyncio.to_thread(server.token, "admin")
        refusal = await asyncio.to_thread(instances, server, token)
        assert refusal == (503, "registry_unavailable")
        received_while_down = len(client.totals())
        # New sockets are accepted meanwhile, degraded from their first message, and served.
        async with websockets.connect(server.ws_url, origin=server.url) as late:
            first = json.loads(await late.recv())
            assert (first["type"], first["status"]) == ("connection_status", "degraded")
            await late.send(json.dumps({"type": "authenticate", "token": token}))
            await late.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
            kinds = [json.loads(await late.recv())["type"] for _ in range(3)]
            assert kinds == ["authenticated", "subscriptions", "dashboard_update"]
        # Degraded but live: the consumers poll at the critical tier's TTL (5 s).
        assert await wait_for(lambda: len(client.totals()) > received_while_down, 15)

        redis.start()
        assert await wait_for(lambda: client.statuses()[-1:] == ["connected"], 20)
        assert "recovered" in client.statuses()
        writer.stop()
        expected = compute_metric("patientCount", Scope.all())
        assert await wait_for(lambda: client.totals()[-1:] == [expected["total"]], 15)
        assert (await asyncio.to_thread(server.health))["status"] == "ok"
        assert not client.versions_gone_back()
        assert not [m for m in client.messages if m.get("code") == "server_error"]
        done.set()
        await task
    finally:
        writer.stopped.set()
        server.stop()
    assert "Traceback" not in server.log()


class EmbeddedOutage:
    """The embedded store's own switch: every client of the store file fails as if unreachable."""

    server_env: dict[str, str] = {}

    def begin(self) -> None:
        store.get_database().client.set_unreachable(True)

    def end(self) -> None:
        store.get_database().client.set_unreachable(False)

    def close(self) -> None:
        self.end()


class ProxiedMongoOutage:
    """A real replica set (MONGODB_TEST_URI) that the server reaches through a proxy the test cuts.

    The server connects straight to the primary through the proxy (directConnection),
    since a replica-set connection would find the members' own addresses and go around it.
    """

    def __init__(self, settings) -> None:
        self.name = f"outage_{uuid.uuid4().hex[:12]}"
        direct = MongoClient(MONGODB_TEST_URI, serverSelectionTimeoutMS=10_000)
        direct.admin.command("ping")
        host, port = direct.primary or direct.address  # address: a directConnection URI
        direct.close()
        self.proxy = TcpProxy(host, port).start()
        self.server_env = {
            "MONGODB_URI": proxied_uri(MONGODB_TEST_URI, self.proxy.port),
            "MONGODB_DB": self.name,
        }
        # The test itself writes and recounts on the replica set directly.
        settings.MONGODB_URI, settings.MONGODB_DB = MONGODB_TEST_URI, self.name
        store.reset_client()

    def begin(self) -> None:
        self.proxy.cut()

    def end(self) -> None:
        self.proxy.restore()

    def close(self) -> None:
        self.proxy.stop()
        store.get_database().client.drop_database(self.name)
        store.reset_client()


def proxied_uri(uri: str, port: int) -> str:
    """`uri` (mongodb:// or mongodb+srv://) aimed at one host, the proxy, with its other
    options kept: credentials, auth source, TLS (the proxy's name is not the certificate's)."""
    scheme, rest = uri.split("://", 1)
    userinfo, _, location = rest.rpartition("@")
    _hosts, _, tail = location.partition("/")
    path, _, query = tail.partition("?")
    params = [
        param
        for param in query.split("&")
        if param and param.split("=")[0].lower() not in ("replicaset", "directconnection")
    ]
    params.append("directConnection=true")
    if scheme == "mongodb+srv":
        params.append("tls=true")
    if any(param.split("=")[0].lower() in ("tls", "ssl") for param in params):
        params.append("tlsAllowInvalidHostnames=true")
    credentials = f"{userinfo}@" if userinfo else ""
    return f"mongodb://{credentials}127.0.0.1:{port}/{path}?{'&'.join(params)}"


def test_the_proxied_uri_keeps_credentials_and_options_and_aims_at_the_proxy():
    assert proxied_uri("mongodb://u:p%40ss@a:1,b:2/admin?replicaSet=rs0&authSource=x", 9) == (
        "mongodb://u:p%40ss@127.0.0.1:9/admin?authSource=x&directConnection=true"
    )
    assert proxied_uri("mongodb+srv://c.example.net/?retryWrites=true", 9) == (
        "mongodb://127.0.0.1:9/?retryWrites=true&directConnection=true&tls=true"
        "&tlsAllowInvalidHostnames=true"
    )


@pytest.fixture(params=["embedded"] + (["mongodb"] if MONGODB_TEST_URI else []))
def mongodb_outage(request, settings, hospital_store):
    outage = EmbeddedOutage() if request.param == "embedded" else ProxiedMongoOutage(settings)
    yield outage
    outage.close()


async def test_mongodb_outage_serves_stale_values_then_converges(
    tmp_path, hospital_store, mongodb_outage
):
    server = LiveServer.start(
        tmp_path / "server", store_path=hospital_store, env=mongodb_outage.server_env
    )
    db = store.get_database()
    try:
        token = await asyncio.to_thread(server.token, "superadmin")
        client = Client(server)
        ready, done = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(client.run(token, ready, done))
        await ready.wait()
        db.patients.insert_one(
            {
                "departmentId": "ER",
                "status": "admitted",
                "isActive": True,
                "registeredAt": dt.datetime.now(dt.UTC),
            }
        )
        assert await wait_for(lambda: client.totals()[-1:] == [1], 10)

        mongodb_outage.begin()
        assert await wait_for(lambda: "stale" in client.statuses(), 15)
        body = await asyncio.to_thread(server.health)
        assert body["status"] == "degraded" and body["checks"]["mongodb"]["ok"] is False
        async with websockets.connect(server.ws_url, origin=server.url) as ws:
            await ws.send(json.dumps({"type": "authenticate", "token": token}))
            await ws.send(json.dumps({"type": "request_snapshot"}))
            while (message := json.loads(await ws.recv()))["type"] != "metrics_snapshot":
                pass
        assert message["metrics"]["patientCount"]["stale"] is True
        assert message["metrics"]["patientCount"]["data"]["total"] == 1

        mongodb_outage.end()
        for _ in range(3):
            db.patients.insert_one(
                {
                    "departmentId": "CARD",
                    "status": "admitted",
                    "isActive": True,
                    "registeredAt": dt.datetime.now(dt.UTC),
                }
            )
        assert await wait_for(lambda: client.totals()[-1:] == [4], 20)
        assert await wait_for(lambda: client.statuses()[-1:] == ["connected"], 10)
        assert (await asyncio.to_thread(server.health))["status"] == "ok"
        done.set()
        await task
    finally:
        mongodb_outage.end()
        server.stop()
    assert "Traceback" not in server.log()
