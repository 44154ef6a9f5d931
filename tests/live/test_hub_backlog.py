"""A server process behind on its flushes keeps running its other tasks between them."""

from __future__ import annotations

import asyncio
import datetime as dt

from channels.layers import get_channel_layer

from live.groups import UPDATES_GROUP
from metrics.scope import Scope
from metrics.values import MetricValue, channel_message

FLUSHES = 50


def flush(version: int) -> dict:
    """The channel message of one flush of the listener: patientCount at `version`."""
    data = {"departments": {"ER": version}, "unassigned": None}
    return channel_message([MetricValue("patientCount", data, version, dt.datetime.now(dt.UTC))])


class Recording:
    """A socket that notes the version of each update offered to it."""

    def __init__(self) -> None:
        self.versions: list[int] = []

    def offer(self, updates, frames) -> int:
        self.versions += [update.version for update in updates]
        return 0

    def fail(self, exc: Exception) -> None:
        raise exc


async def test_a_backlog_of_flushes_leaves_the_loop_to_the_other_tasks_between_them(fresh_hub):
    """Queued flushes are read without waiting; without a turn for the rest between them, a
    worker's heartbeat stops for as long as the backlog lasts and the worker is replaced."""
    await fresh_hub.start()
    socket = Recording()
    fresh_hub.join(socket, "patientCount", Scope.all())
    seen = []  # what another task saw each time it ran

    async def another_task() -> None:
        while len(socket.versions) < FLUSHES:
            seen.append(len(socket.versions))
            await asyncio.sleep(0)

    watching = asyncio.ensure_future(another_task())
    layer = get_channel_layer()
    # Queued together, before the hub reads any of them.
    await asyncio.gather(
        *(layer.group_send(UPDATES_GROUP, flush(n)) for n in range(1, FLUSHES + 1))
    )
    await asyncio.wait_for(watching, 5)
    assert socket.versions == list(range(1, FLUSHES + 1))
    assert len([n for n in seen if 0 < n < FLUSHES]) >= FLUSHES // 2  # in turn with the flushes
