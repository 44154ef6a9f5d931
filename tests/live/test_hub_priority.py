"""A server process offers a flush to its sockets in parts, and a critical flush that arrives
meanwhile goes out to every socket before the rest of a standard one."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

from channels.layers import get_channel_layer

from live.groups import UPDATES_GROUP
from live.sockets.flushes import MERGE_AFTER, FlushQueue
from live.sockets.hub import SOCKETS_PER_TURN
from metrics.compute import compute_base
from metrics.scope import Scope
from metrics.values import MetricValue, channel_message

CRITICAL, STANDARD = "patientCount", "staffActivity"


def value(metric: str, version: int) -> MetricValue:
    return MetricValue(metric, compute_base(metric), version, dt.datetime.now(dt.UTC))


class Recording:
    """A socket that notes when (in one order shared by every socket) each metric reached it."""

    def __init__(self, clock: itertools.count) -> None:
        self.clock = clock
        self.arrivals: dict[str, int] = {}

    def offer(self, updates, frames) -> int:
        for update in updates:
            self.arrivals[update.metric] = next(self.clock)
        return len(updates)

    def fail(self, exc: Exception) -> None:
        raise exc


async def deliver_one_then_another(hub, parts: int, first: str, second: str) -> list[Recording]:
    """Sockets (`parts` parts of them) subscribed to both metrics; a flush of `first`, and once
    it has reached the first sockets, a flush of `second`. Returns the sockets once both
    reached every one."""
    await hub.start()
    clock = itertools.count()
    sockets = [Recording(clock) for _ in range(SOCKETS_PER_TURN * parts)]
    for socket in sockets:
        hub.join(socket, CRITICAL, Scope.all())
        hub.join(socket, STANDARD, Scope.all())
    layer = get_channel_layer()
    await layer.group_send(UPDATES_GROUP, channel_message([value(first, 10)]))
    async with asyncio.timeout(5):
        while not any(first in socket.arrivals for socket in sockets):
            await asyncio.sleep(0)
    await layer.group_send(UPDATES_GROUP, channel_message([value(second, 11)]))
    async with asyncio.timeout(5):
        while not all(len(socket.arrivals) == 2 for socket in sockets):
            await asyncio.sleep(0)
    return sockets


async def test_a_critical_flush_overtakes_the_rest_of_a_standard_one(fresh_hub, hospital_db):
    sockets = await deliver_one_then_another(fresh_hub, 6, STANDARD, CRITICAL)

    standard = sorted(socket.arrivals[STANDARD] for socket in sockets)
    critical = sorted(socket.arrivals[CRITICAL] for socket in sockets)
    # The standard flush had reached only its first parts when the critical one went out whole.
    assert standard[SOCKETS_PER_TURN - 1] < critical[0]
    assert critical[-1] < standard[-SOCKETS_PER_TURN]
    assert sum(1 for t in standard if t > critical[-1]) >= len(sockets) // 2


async def test_a_critical_flush_is_not_overtaken(fresh_hub, hospital_db):
    sockets = await deliver_one_then_another(fresh_hub, 4, CRITICAL, STANDARD)

    assert max(s.arrivals[CRITICAL] for s in sockets) < min(s.arrivals[STANDARD] for s in sockets)


def test_flushes_are_taken_critical_first_and_in_order(hospital_db):
    queue = FlushQueue()
    queue.put([value(STANDARD, 5), value("revenue", 5)])
    queue.put([value(CRITICAL, 6)])
    queue.put([value(STANDARD, 7)])
    queue.put([value(CRITICAL, 8), value("roomOccupancy", 8)])

    taken = [queue.take() for _ in range(4)]
    assert [
        (sorted((v.metric, v.version) for v in values), critical) for values, critical in taken
    ] == [
        ([(CRITICAL, 6)], True),
        ([(CRITICAL, 8), ("roomOccupancy", 8)], True),
        ([("revenue", 5), (STANDARD, 5)], False),
        ([(STANDARD, 7)], False),
    ]
    assert not queue.critical_waiting()


def test_a_process_far_behind_takes_a_tiers_waiting_flushes_as_one(hospital_db):
    queue = FlushQueue()
    queue.put([value("revenue", 1)])
    for version in range(2, MERGE_AFTER + 1):
        queue.put([value(STANDARD, version)])
    queue.put([value(CRITICAL, 50)])

    critical, is_critical = queue.take()
    assert is_critical and [(v.metric, v.version) for v in critical] == [(CRITICAL, 50)]
    merged, is_critical = queue.take()
    assert not is_critical
    assert sorted((v.metric, v.version) for v in merged) == [
        ("revenue", 1),
        (STANDARD, MERGE_AFTER),
    ]
