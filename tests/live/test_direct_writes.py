"""Direct frame writes survive a dependency change, and one socket's failure stays its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.request

import pytest
import websockets

from live.sockets import frames
from live.sockets.fanout import LocalFanout
from live.sockets.outbox import Outbox
from live.sockets.subscriptions import SocketSubscriptions
from metrics.compute import compute_base
from metrics.scope import Scope
from metrics.values import MetricValue
from runtime import telemetry
from tests.live.test_outbox import Transport
from tests.servers import LiveServer


class Raising(Transport):
    def write(self, frame: bytes) -> None:
        raise AttributeError("'WebSocketProtocol' object has no attribute 'transport'")


class Socket:
    """A subscriber as the hub sees it: an outbox over a transport, failures recorded."""

    def __init__(self, transport: Transport) -> None:
        subscriptions = SocketSubscriptions()
        subscriptions.add("patientCount")
        self.outbox = Outbox(subscriptions, send_text=None, stop_sending=lambda: None)
        self.outbox.writer = transport
        self.failures: list[Exception] = []

    def offer(self, updates, frames_cache) -> int:
        return self.outbox.offer(updates, frames_cache)

    def fail(self, exc: Exception) -> None:
        self.failures.append(exc)


def admit_one(db, version: int) -> MetricValue:
    """One more admitted patient, and patientCount's base value (every department) after it."""
    db.patients.insert_one({"mrn": f"W{version}", "departmentId": "ER", "status": "admitted"})
    db.patients.update_many({}, {"$set": {"isActive": True}})
    base = compute_base("patientCount")
    return MetricValue("patientCount", base, version, dt.datetime.now(dt.UTC))


async def test_a_socket_whose_write_raises_fails_alone_and_the_flush_reaches_the_rest(
    hospital_db,
):
    fanout = LocalFanout()
    healthy = [Socket(Transport()) for _ in range(3)]
    broken = Socket(Raising())
    for socket in [healthy[0], broken, *healthy[1:]]:
        fanout.join(socket, "patientCount", Scope.all())

    fanout.dispatch([admit_one(hospital_db, 1)])
    fanout.dispatch([admit_one(hospital_db, 2)])

    assert len(broken.failures) == 2 and isinstance(broken.failures[0], AttributeError)
    for socket in healthy:
        totals = [m["data"]["total"] for m in socket.outbox.writer.messages()]
        assert totals == [1, 2]


@pytest.fixture
def direct_writes_on(monkeypatch):
    monkeypatch.setattr(frames, "_disabled", None)
    yield
    telemetry.direct_writes.set(1)


def test_the_start_check_names_what_a_release_removed(direct_writes_on, monkeypatch, caplog):
    assert frames.missing_internals("uvicorn") == []
    assert frames.missing_internals("daphne") == []
    renamed = [*frames._INTERNALS["daphne"], ("daphne.server", "Server", ("renamed_name",))]
    monkeypatch.setitem(frames._INTERNALS, "daphne", renamed)

    assert frames.missing_internals("daphne") == ["Server.renamed_name"]
    assert frames.check_internals("daphne") is False
    assert telemetry.direct_writes._value.get() == 0
    warnings = [r for r in caplog.records if "direct frame writes are off" in r.getMessage()]
    assert len(warnings) == 1 and "Server.renamed_name" in warnings[0].getMessage()
    assert frames.direct_writer(lambda message: None) is None


def test_a_connection_object_without_the_expected_attributes_turns_direct_writes_off(
    direct_writes_on, caplog
):
    class Protocol:  # what uvicorn's protocol would be with its attributes renamed
        __module__ = frames._UVICORN_MODULE

        async def send(self, message) -> None: ...

    assert frames.direct_writer(Protocol().send) is None
    assert frames._disabled is not None and "transport" in frames._disabled
    assert telemetry.direct_writes._value.get() == 0
    assert sum("direct frame writes are off" in r.getMessage() for r in caplog.records) == 1


async def receive_total(ws) -> int:
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "dashboard_update" and message["metric"] == "patientCount":
            return message["data"]["total"]


@pytest.mark.slow
@pytest.mark.parametrize("server_name", ["uvicorn", "daphne"])
async def test_a_server_whose_internals_were_renamed_still_delivers_every_update(
    server_name, tmp_path, hospital_store, hospital_db
):
    server = await asyncio.to_thread(
        LiveServer.start,
        tmp_path / "server",
        store_path=hospital_store,
        env={"DASHBOARD_SERVER": server_name},
        listener="on",
        entry=("tests/live/renamed_internals.py",),
    )
    try:
        token = await asyncio.to_thread(server.token, "superadmin")
        async with websockets.connect(server.ws_url, origin=server.url) as ws:
            await ws.send(json.dumps({"type": "authenticate", "token": token}))
            await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
            async with asyncio.timeout(20):
                assert await receive_total(ws) == 0
                for expected in range(1, 6):
                    hospital_db.patients.insert_one(
                        {"mrn": f"R{expected}", "departmentId": "ER", "status": "admitted"}
                        | {"isActive": True, "name": "Renamed"}
                    )
                    assert await receive_total(ws) == expected

        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            exposition = response.read().decode()
        assert "\ndashboard_direct_writes 0.0\n" in exposition
        log = server.log()
        assert log.count("direct frame writes are off") == 1
        assert "close_sent_before_the_rename" in log
        assert "Traceback" not in log
    finally:
        server.stop()
