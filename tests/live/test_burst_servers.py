"""A burst of updates on the real servers: every healthy client gets every value, none is closed.

The load benchmark's fan-out burst (docs/bench-load.md) found daphne sockets that
read everything at once conflated all the same: the hub wrote a whole burst into
Twisted's buffers before the reactor handed any of it to the kernel, so each
healthy socket looked 16 KiB behind. Here a burst reaches a server all at once, as
it does to a server that was busy when it came (the process is stopped while the
values are published, then let go), and each client must end with every value in
order, still open, and still served afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal

import pytest
import websockets
from channels_redis.pubsub import RedisPubSubChannelLayer

from embedded_mongo import EmbeddedClient
from live.groups import UPDATES_GROUP
from metrics.values import MetricValue, channel_message
from metrics.versions import position_now
from tests.servers import LiveServer, prepare_database, server_env

pytestmark = pytest.mark.slow

BURST = 200
CLIENTS = 4
SLOW_SOCKET_SECONDS = 2.0  # a socket judged behind this long would be closed with 4008
LOOK_SECONDS = 1.0  # how often a socket's unread bytes are looked at (live/sockets/outbox.py)
# Nine departments whose counts all move: every value is new for the sockets' scope, and each
# frame is about 250 bytes, as in the benchmark (a burst is about 50 KB a socket).
DEPARTMENTS = ("ER", "CARD", "NEURO", "ORTHO", "PED", "ONC", "RAD", "ICU", "LAB")


def burst_value(base: int, index: int) -> MetricValue:
    """patientCount's base value number `index` of a burst, versions from `base` up."""
    counts = {code: 100 + index + n for n, code in enumerate(DEPARTMENTS)}
    return MetricValue(
        metric="patientCount",
        data={"departments": counts, "unassigned": None},
        version=base + 1 + index,
        updated_at=dt.datetime.now(dt.UTC),
        stale=False,
    )


class Client:
    """A dashboard that signs in, asks for batched frames, subscribes to patientCount and
    records every version it gets until its socket closes."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.versions: list[int] = []
        self.close_code: int | None = None
        self.reading: asyncio.Task | None = None

    @classmethod
    async def open(cls, server: LiveServer, token: str) -> Client:
        ws = await websockets.connect(server.ws_url, origin=server.url, compression=None)
        await ws.send(json.dumps({"type": "authenticate", "token": token, "batch": True}))
        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
        client = cls(ws)
        client.reading = asyncio.create_task(client.read())
        return client

    async def read(self) -> None:
        try:
            async for frame in self.ws:  # ends when the server closes with 1000 or 1001
                message = json.loads(frame)
                if message["type"] == "dashboard_updates":
                    self.versions += [u["version"] for u in message["updates"]]
        except websockets.ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd is not None else 1006
            return
        self.close_code = self.ws.close_code

    async def wait_for(self, version: int, timeout: float) -> None:
        """Until this version or a newer one came, the socket closed, or `timeout` passed (the
        assertions then say what came)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self.versions or self.versions[-1] < version:
                    if self.reading is not None and self.reading.done():
                        return
                    await asyncio.sleep(0.05)


def start(kind: str, tmp_path, redis_url: str, prefix: str) -> LiveServer:
    """One server process of `kind` on its own Redis prefix, no listener (the test publishes)."""
    workdir = tmp_path / kind
    workdir.mkdir()
    store, database = str(tmp_path / "store.sqlite3"), workdir / "dashboard.sqlite3"
    # Django's database copied from the suite's common template (migrated, demo users): the
    # settings below change nothing in it.
    prepare_database(server_env(workdir, store, database), {}, None)
    return LiveServer.start(
        workdir,
        store_path=store,
        env={
            "REDIS_URL": redis_url,
            "DASHBOARD_CHANNEL_PREFIX": prefix,
            "DASHBOARD_SLOW_SOCKET_SECONDS": str(SLOW_SOCKET_SECONDS),
            # No listener runs, and the hub must not poll values of its own for want of one:
            # their versions would be newer than the test's.
            "DASHBOARD_LISTENER_STALE_SECONDS": "3600",
        },
        database_path=database,
        prepare=False,
        listener="off",
        # One process: the one the burst is held back from.
        serve_args=("--server", kind, "--workers", "1"),
    )


async def publish(layer: RedisPubSubChannelLayer, values: list[MetricValue]) -> None:
    for value in values:  # one channel-layer message per value, as one flush each
        await layer.group_send(UPDATES_GROUP, channel_message([value]))


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_every_healthy_client_gets_a_whole_burst_and_stays_open(
    kind, tmp_path, redis_url, unique_prefix
):
    server = await asyncio.to_thread(start, kind, tmp_path, redis_url, unique_prefix)
    layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix=unique_prefix)
    clients: list[Client] = []
    try:
        token = await asyncio.to_thread(server.token, "superadmin")
        clients = [await Client.open(server, token) for _ in range(CLIENTS)]
        for client in clients:
            await client.wait_for(0, timeout=20)  # its current value
        assert server.process is not None
        # The store's position: no version the server computed is above it.
        base = position_now(EmbeddedClient(server.store_path)["hospital"])
        burst = [burst_value(base, index) for index in range(BURST)]

        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            await publish(layer, burst)
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        for client in clients:
            await client.wait_for(burst[-1].version, timeout=15)
        # One more value once the server looks at what each socket left unread again: each is
        # still served, none was judged slow.
        await asyncio.sleep(LOOK_SECONDS + 0.2)
        after = burst_value(base, BURST)
        await publish(layer, [after])
        for client in clients:
            await client.wait_for(after.version, timeout=10)

        wanted = [value.version for value in [*burst, after]]
        for client in clients:
            assert client.close_code is None
            assert [v for v in client.versions if v > base] == wanted
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.ws.close()
        await layer.flush()
        server.stop()
    assert "Traceback" not in server.log()
