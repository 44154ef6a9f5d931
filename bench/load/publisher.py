"""The fan-out publisher: group messages straight into the channel layer, with their send times.

    python -m bench.load.publisher --target bare|hub

`bare`: group_send of ~250-byte texts to the bare consumer's group (Django
settings bench.bare.settings). `hub`: patientCount base values whose data
changes every time, with ever higher versions (database positions, as every
value's: metrics/versions.py, starting from the store's current one), through
live.stream.broadcast.broadcast_value to the group every dashboard hub listens on
(dashboard_project.settings): the dashboard's own fan-out path fed the same
pattern. Driven over stdin once READY is printed:

    publish COUNT RATE OUT   -> DONE    (RATE 0: as fast as the layer takes them)
    quit

OUT maps each message's key (sequence number or version) to its send time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time

import orjson

BARE_FRAME_BYTES = 250
BURST_DEPARTMENTS = ("ER", "CARD", "NEURO", "ORTHO", "PED", "ONC", "RAD", "ICU", "LAB")


def bare_text(seq: int, sent_at: float) -> str:
    """A ~250-byte JSON text carrying its sequence number and send time."""
    head = orjson.dumps({"seq": seq, "sentAt": sent_at, "pad": ""}).decode()
    return head[:-2] + "x" * max(0, BARE_FRAME_BYTES - len(head)) + '"}'


class BarePublisher:
    key = "bare"

    def __init__(self) -> None:
        from channels.layers import get_channel_layer

        from bench.bare.consumer import GROUP

        self.layer = get_channel_layer()
        self.group = GROUP
        self.frame_bytes = len(bare_text(0, time.time()))

    def restart(self) -> None:
        pass

    async def send(self, index: int) -> tuple[int, float]:
        sent_at = time.time()
        await self.layer.group_send(
            self.group, {"type": "bench.message", "text": bare_text(index, sent_at)}
        )
        return index, sent_at


class HubPublisher:
    key = "patientCount"

    def __init__(self) -> None:
        from live.sockets.protocol import dashboard_update, encode
        from live.stream.broadcast import broadcast_value
        from metrics.scope import Scope
        from metrics.selectors import project_value
        from metrics.values import MetricValue

        self.base_version = 0
        self.last_version = 0
        self.broadcast = broadcast_value
        self.metric_value = MetricValue
        sample = self.value(0, time.time())
        scoped = project_value(sample, Scope.all())
        wire = scoped.to_update()
        self.frame_bytes = len(encode(dashboard_update(sample.metric, wire)))

    def restart(self) -> None:
        """Start above every value sent so far: at the store's position, as a server computing
        now would (each message then one increment further)."""
        from metrics.store import get_database
        from metrics.versions import position_now

        self.base_version = max(position_now(get_database()), self.last_version)

    def value(self, index: int, sent_at: float):
        # A base value (every department); every count moves with the index, so every scope
        # sees a new value and every socket gets every message.
        departments = {code: 100 + index + n for n, code in enumerate(BURST_DEPARTMENTS)}
        return self.metric_value(
            metric="patientCount",
            data={"departments": departments, "unassigned": None},
            version=self.base_version + 1 + index,
            updated_at=dt.datetime.fromtimestamp(sent_at, dt.UTC),
            stale=False,
        )

    async def send(self, index: int) -> tuple[int, float]:
        sent_at = time.time()
        value = self.value(index, sent_at)
        await self.broadcast(value)
        self.last_version = value.version
        return value.version, sent_at


async def publish(publisher, count: int, rate: float) -> dict:
    publisher.restart()
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    started = time.time()
    start_clock = loop.time()
    for index in range(count):
        if rate > 0:
            delay = start_clock + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        key, sent_at = await publisher.send(index)
        sent[str(key)] = sent_at
    return {
        "count": count,
        "rate": rate,
        "started": started,
        "finished": time.time(),
        "frame_bytes": publisher.frame_bytes,
        "sent": {publisher.key: sent},
    }


async def serve(target: str) -> None:
    publisher = BarePublisher() if target == "bare" else HubPublisher()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("READY", flush=True)
    while True:
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "quit":
            return
        if line[0] == "publish":
            count, rate, out = int(line[1]), float(line[2]), line[3]
            result = await publish(publisher, count, rate)
            with open(out, "w") as handle:
                json.dump(result, handle)
            print("DONE", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", choices=["bare", "hub"], required=True)
    args = parser.parse_args()
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE",
        "bench.bare.settings" if args.target == "bare" else "dashboard_project.settings",
    )
    import django

    django.setup()
    asyncio.run(serve(args.target))


if __name__ == "__main__":
    main()
