"""The flushes a server process has received and not yet offered to its sockets, critical first.

The hub's reader puts each flush here as it arrives; its deliverer takes
them out (live/sockets/hub.py). A flush is critical when it carries a
critical metric (emergencies, patients, rooms, ER waiting: metrics/catalogue.py).
Flushes are taken one at a time, in order, so every socket sees every
value. Only a process far behind (MERGE_AFTER flushes of a tier waiting)
takes that tier's waiting flushes as one, the newest value of each metric:
a socket keeps only the newest anyway, and memory stays bounded however far
behind the process falls.
"""

from __future__ import annotations

import asyncio
from collections import deque

from metrics.catalogue import METRICS
from metrics.values import MetricValue

# Flushes of one tier waiting before they are taken as one: seconds behind at the listener's pace.
MERGE_AFTER = 8


def is_critical(values: list[MetricValue]) -> bool:
    return any(METRICS[value.metric].critical for value in values if value.metric in METRICS)


class FlushQueue:
    def __init__(self) -> None:
        self._critical: deque[list[MetricValue]] = deque()
        self._standard: deque[list[MetricValue]] = deque()
        # What get() waits on, made in the loop that waits (the hub outlives a test's loop).
        self._waiter: asyncio.Future | None = None

    def put(self, values: list[MetricValue]) -> None:
        (self._critical if is_critical(values) else self._standard).append(values)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def critical_waiting(self) -> bool:
        return bool(self._critical)

    def take(self) -> tuple[list[MetricValue], bool]:
        """The next flush (critical first; a tier's waiting flushes as one when MERGE_AFTER
        wait) and whether it is critical; only when one waits."""
        critical = bool(self._critical)
        waiting = self._critical if critical else self._standard
        if len(waiting) < MERGE_AFTER:
            return waiting.popleft(), critical
        newest: dict[str, MetricValue] = {}
        while waiting:
            for value in waiting.popleft():
                kept = newest.get(value.metric)
                if kept is None or kept.version <= value.version:  # equal: computed later
                    newest[value.metric] = value
        return list(newest.values()), critical

    async def get(self) -> tuple[list[MetricValue], bool]:
        """Wait for a flush, then take it."""
        while not (self._critical or self._standard):
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self.take()
