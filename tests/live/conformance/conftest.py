"""The conformance suite's servers: `manage.py serve` under daphne and under uvicorn.

One real server per ASGI server for the whole suite (they start in seconds, but
the suite has many cases), each with a small seeded hospital, demo users and
short timers, so that every rule of docs/websocket-api.md can be seen
by a real client within a few seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import urllib.request

import jwt
import pytest
from django.conf import settings

from embedded_mongo import EmbeddedClient
from tests.servers import LiveServer

from .client import RECEIVED, ProtocolDocument

MAX_CONNECTIONS = 20
MAX_UNAUTHENTICATED = 3
EVICT_AFTER = 1.0  # seconds a socket may wait to sign in before a newcomer may take its slot
SLOW_SOCKET_SECONDS = 2.0  # a subscriber that leaves its updates unread this long gets 4008
SERVER_ENV = {
    "DASHBOARD_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "DASHBOARD_MAX_UNAUTHENTICATED": str(MAX_UNAUTHENTICATED),
    # The suite fills the server as one user; the per-user share has its own tests
    # (tests/live/test_admission_servers.py).
    "DASHBOARD_MAX_SOCKETS_PER_USER": str(MAX_CONNECTIONS),
    "DASHBOARD_EVICT_AFTER_SECONDS": str(EVICT_AFTER),
    "DASHBOARD_REVALIDATE_SECONDS": "1",
    "DASHBOARD_HEARTBEAT_SECONDS": "2",
    "DASHBOARD_HISTORICAL_RATE": "4/min",
    "DASHBOARD_SLOW_SOCKET_SECONDS": str(SLOW_SOCKET_SECONDS),
    "DASHBOARD_LOGIN_RATE_IP": "1000/min",
    "DASHBOARD_LOGIN_RATE_USER": "1000/min",
}


@pytest.fixture(scope="package", params=["daphne", "uvicorn"])
def server(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"conformance-{request.param}")
    running = LiveServer.start(
        workdir,
        store_path=str(workdir / "hospital.sqlite3"),
        env={**SERVER_ENV, "DASHBOARD_SERVER": request.param},
    )
    running.seed("--patients", "150")
    yield running
    running.stop()
    # No traceback, but for the one server_error case, which logs its cause on purpose.
    records = re.split(r"(?m)^(?=\d{4}-\d{2}-\d{2} )", running.log_path.read_text())
    unexpected = [r for r in records if "Traceback" in r and "error handling a dashboard" not in r]
    assert unexpected == [], unexpected[0][-5000:]


@pytest.fixture(scope="package")
def tokens(server):
    """An access token per demo user (logins are throttled; one each is enough)."""
    return {name: server.token(name) for name in ("superadmin", "admin", "viewer")}


@pytest.fixture
def hospital(server):
    """The server's hospital database, through the pymongo API."""
    client = EmbeddedClient(server.store_path)
    yield client[settings.MONGODB_DB]
    client.close()


@pytest.fixture(scope="package")
def protocol_document(server):
    with urllib.request.urlopen(server.url + "/api/asyncapi/", timeout=10) as response:
        return ProtocolDocument(json.loads(response.read()))


@pytest.fixture(autouse=True)
def every_message_validates(request):
    """After each case, every message the server sent validates against /api/asyncapi/."""
    RECEIVED.clear()
    uses_server = "server" in request.fixturenames
    document = request.getfixturevalue("protocol_document") if uses_server else None
    yield
    if document is not None:
        assert document.problems(RECEIVED) == []


def short_lived(token: str, seconds: float) -> str:
    """The same access token, expiring in `seconds` (signed with the servers' demo key)."""
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    claims = jwt.decode(token, key, algorithms=["HS256"])
    claims["exp"] = int(dt.datetime.now(dt.UTC).timestamp() + seconds)
    return jwt.encode(claims, key, algorithm="HS256")


async def wait_for(predicate, timeout: float = 10.0, every: float = 0.2) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(predicate):
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)
