"""The cyclic garbage collector, kept from stalling a serving process that holds thousands of sockets.

A full collection walks every object the collector tracks. A worker holding
5,000 dashboards tracks over a million (some 200 per socket: its consumer,
protocol, parser, tasks and timers), and in the load benchmark
(docs/bench-load.md) each full collection held the worker's event loop for
1.2 to 1.5 s, every update of every socket waiting behind it. CPython starts
one whenever the objects that survived its young collections reach a quarter
of the old ones: every few seconds while sockets connect, and every few
minutes after.

So what has lived a while is taken out of the collector's sight: every
FREEZE_SECONDS the youngest generation is collected and everything left is
frozen (`gc.freeze`), and a full collection then walks only what is newer.
Frozen objects that die are still freed at once by reference counting; only
garbage cycles among them (a closed socket's, mostly) wait for a full sweep:
everything unfrozen and collected, one pause as long as the old full
collections, when as many sockets have closed since the last sweep as a
quarter of those open (at least SWEEP_AFTER_CLOSED), or FULL_SWEEP_SECONDS
have passed. A hospital whose wall displays stay connected sees one an hour.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from runtime import telemetry

logger = logging.getLogger("dashboard.collector")

FREEZE_SECONDS = 10.0
FULL_SWEEP_SECONDS = 3600.0
SWEEP_AFTER_CLOSED = 500


class Collector:
    def __init__(self) -> None:
        self.open_sockets = 0
        self.closed_since_sweep = 0
        self.last_sweep = time.monotonic()

    def socket_opened(self) -> None:
        self.open_sockets += 1

    def socket_closed(self) -> None:
        self.open_sockets -= 1
        self.closed_since_sweep += 1

    def sweep_due(self, now: float) -> bool:
        closed_enough = max(SWEEP_AFTER_CLOSED, self.open_sockets // 4)
        return (
            self.closed_since_sweep >= closed_enough or now - self.last_sweep >= FULL_SWEEP_SECONDS
        )

    def tick(self, count: bool = False) -> None:
        """Freeze what survived until now; first a full sweep if one is due. The frozen objects
        are counted (`count`) at start and after a sweep only: counting walks them all, some
        tens of milliseconds at a million."""
        now = time.monotonic()
        if self.sweep_due(now):
            self.sweep(now)
            count = True
        else:
            gc.collect(0)  # the youngest garbage goes first (older young garbage waits)
        gc.freeze()
        if count:
            telemetry.gc_frozen_objects.set(gc.get_freeze_count())

    def sweep(self, now: float) -> None:
        """Everything back in the collector's sight and collected: one full pause."""
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        seconds = time.perf_counter() - started
        telemetry.gc_full_sweep_seconds.observe(seconds)
        logger.info(
            "full garbage collection: %d unreachable objects after %d closed sockets, %.3f s",
            found,
            self.closed_since_sweep,
            seconds,
        )
        self.closed_since_sweep = 0
        self.last_sweep = now

    async def run(self) -> None:
        # What start-up built (modules, Django, the app) lives as long as the process.
        self.tick(count=True)
        while True:
            await asyncio.sleep(FREEZE_SECONDS)
            self.tick()


collector = Collector()
