"""The current values a socket gets when it subscribes (or signs in again) never come after a
newer value the hub wrote while they were being read."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from types import SimpleNamespace

from live.sockets import websocket as websocket_module
from live.sockets.consumers import DashboardConsumer
from live.sockets.outbox import Outbox, Update
from live.sockets.subscriptions import SocketSubscriptions
from metrics.scope import Scope
from metrics.values import MetricValue
from tests.live.test_outbox import Transport

METRICS = ("patientCount", "roomOccupancy")


def wire(version: int) -> dict:
    return {"data": {"v": version}, "updatedAt": "x", "stale": False, "version": version}


class Wire(Transport):
    """The socket as the client reads it: direct writes and ASGI sends, in the order they went."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[dict] = []

    def write(self, frame: bytes) -> None:
        super().write(frame)
        self.read.append(json.loads(frame[frame.index(b"{") :]))

    async def send_text(self, text: str) -> None:
        await asyncio.sleep(0)  # an ASGI send goes out on a later turn of the loop
        self.read.append(json.loads(text))


def signed_in_socket(transport: Wire) -> DashboardConsumer:
    """A consumer past sign-in, subscribed to METRICS, with a direct writer (as on a server)."""
    socket = object.__new__(DashboardConsumer)
    socket.access = SimpleNamespace(scope=Scope.all())
    socket.subscriptions = SocketSubscriptions()
    for metric in METRICS:
        socket.subscriptions.add(metric)
    socket.outbox = Outbox(socket.subscriptions, transport.send_text, lambda: None)
    socket.outbox.writer = transport
    socket.closing = False
    socket.send_text = transport.send_text
    return socket


async def test_a_value_read_before_a_newer_flush_is_not_sent_after_it(monkeypatch):
    reading_second, release = threading.Event(), threading.Event()

    def get_live_value(metric: str, scope: Scope) -> MetricValue:
        if metric == "roomOccupancy":
            reading_second.set()
            release.wait(10)
        return MetricValue(metric, {"v": 10}, 10, dt.datetime.now(dt.UTC))

    monkeypatch.setattr(websocket_module, "get_live_value", get_live_value)
    transport = Wire()
    socket = signed_in_socket(transport)

    sending = asyncio.ensure_future(socket._send_current(list(METRICS)))
    assert await asyncio.to_thread(reading_second.wait, 10)
    # While roomOccupancy is read, the hub writes a newer patientCount straight to the socket.
    assert socket.outbox.offer([Update.of("patientCount", wire(12))], {}) == 1
    release.set()
    await sending
    await asyncio.sleep(0.05)

    received = [(m["metric"], m["version"]) for m in transport.read]
    assert received == [("patientCount", 12), ("roomOccupancy", 10)]
    socket.outbox.cancel()
