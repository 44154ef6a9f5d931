"""The metrics the listener maintains incrementally: built from the store, folded, published.

The state (metrics/incremental) is built by one projected scan per collection
after the stream is opened, so a change between the two is folded on top of
a state that may already hold it, which is harmless: a fold replaces a
document's share, it does not add to it. A flush builds each dirty metric's
base value from the state, in time independent of the data size, stores it in
the cache layers and broadcasts it if it changed.

The state's position versions every value built from it (metrics/versions.py):
the database's position read before the scans, then the clusterTime of each
change folded (never going back: a change the scans already saw is folded
again at its own, earlier, time). A value rebuilt because time passed (a tick,
a new day) or from a corrected metric keeps it: no change came.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterable

from django.utils import timezone

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.incremental import IncrementalMetrics
from metrics.store import get_database
from metrics.versions import position_now, version_of
from runtime import telemetry
from runtime.off_loop import off_loop

from .pipeline import publish_built

logger = logging.getLogger("dashboard.listener")
# Metrics that move with time alone (a waiting time): rebuilt every tick_seconds.
TICKING: dict[str, float] = {
    name: tick for name in LIVE_METRICS if (tick := METRICS[name].tick_seconds)
}


def _build() -> tuple[IncrementalMetrics, int]:
    """A state from the store, and the position read before its scans."""
    database = get_database()
    position = position_now(database)
    return IncrementalMetrics.build(database, timezone.now()), position


class MaintainedMetrics:
    """The listener's incremental state, and what it does with it."""

    def __init__(self) -> None:
        self.state: IncrementalMetrics | None = None
        # The version of every value built from the state: the position it reflects.
        self.position = 0
        # When each ticking metric is rebuilt next (time.monotonic()).
        self._ticks: dict[str, float] = dict.fromkeys(TICKING, float("inf"))
        self._next_day: float = float("inf")  # epoch seconds of the next local midnight

    @property
    def ready(self) -> bool:
        """Built, and able to follow the stream (no renamed collection or dropped database)."""
        return self.state is not None and not self.state.stale

    @property
    def built(self) -> IncrementalMetrics:
        """The state; only asked for once `rebuild` has run (the listener builds before folding)."""
        if self.state is None:
            raise RuntimeError("the incremental state is not built yet")
        return self.state

    def forget(self) -> None:
        """The state no longer follows the stream (lease lost, another listener led): rebuild."""
        self.state = None

    async def rebuild(self, reason: str) -> None:
        """A new state from the store: one projected scan per collection, in a worker thread."""
        started = time.perf_counter()
        self.state, self.position = await off_loop(_build)()
        # The state (and the embedded store's documents) live as long as the listener: a full
        # collection walking them would stall the loop for tens of milliseconds (more on a big
        # hospital), so what exists now is moved out of the collector's sight.
        gc.collect()
        gc.freeze()
        seconds = time.perf_counter() - started
        telemetry.state_rebuild_seconds.set(seconds)
        self._next_day = self.state.next_day().timestamp()
        # A build publishes every metric: the first tick is one interval later.
        self._ticks = {metric: time.monotonic() + tick for metric, tick in TICKING.items()}
        shadowed, size = self.report_memory()
        logger.info(
            "incremental state built (%s) in %.2f s: %d documents shadowed, %.1f MiB",
            reason,
            seconds,
            shadowed,
            size / 2**20,
        )

    async def correct(self, metric: str) -> None:
        """Rebuild one metric's state (after a verification found it differing)."""
        state = self.built
        await off_loop(state.rebuild)(get_database(), metric)
        self.report_memory()

    def apply(self, event: dict) -> list[str]:
        """Fold one change; the metrics it moved. The state is at its position from now on."""
        moved = self.built.apply(event)
        committed = event.get("clusterTime")
        if committed is not None:
            self.position = max(self.position, version_of(committed))
        return moved

    def ticks_due(self, now: float) -> list[str]:
        """The metrics that move with time alone whose tick is due (time.monotonic() `now`)."""
        if self.state is None:
            return []
        due = [metric for metric, at in self._ticks.items() if now >= at]
        for metric in due:
            self._ticks[metric] = now + TICKING[metric]
        return due

    def day_ended(self) -> list[str]:
        """At the next local midnight: the day metrics to broadcast (past days leave the state)."""
        if self.state is None or time.time() < self._next_day:
            return []
        moved = self.state.roll_over(timezone.now())
        self._next_day = self.state.next_day().timestamp()
        self.report_memory()
        return moved

    async def publish(self, metrics: Iterable[str], *, force: bool = False) -> list[str]:
        """Build, store and broadcast (if changed, or `force`) each metric; the names broadcast."""
        return await publish_built(metrics, self.built.base, self.position, force=force)

    def report_memory(self) -> tuple[int, int]:
        """Set the shadow gauges; returns (documents shadowed, bytes) over every metric."""
        shadowed = size = 0
        for metric, (documents, bytes_, total) in self.built.memory().items():
            telemetry.shadow_documents.labels(metric=metric).set(documents)
            telemetry.shadow_bytes.labels(metric=metric).set(bytes_)
            telemetry.shadow_bytes_per_document.labels(metric=metric).set(
                bytes_ / documents if documents else 0
            )
            telemetry.shadow_bytes_per_collection_document.labels(metric=metric).set(
                bytes_ / total if total else 0
            )
            shadowed, size = shadowed + documents, size + bytes_
        return shadowed, size
