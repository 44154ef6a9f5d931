"""What the listener does with each change it reads, and between changes.

A change is folded into the incremental state and dirties the metrics it
moved; a flush builds the dirty metrics from the state and broadcasts what
changed; between items the day metrics roll over at local midnight,
verification rounds start and conclude, and every 30 s one summary line is
logged (the per-flush line is DEBUG).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.incremental.verification import summary as differences_summary
from runtime import telemetry

from .batching import PendingBatch, StreamItem
from .changes import event_time
from .listener_summary import PeriodSummary
from .maintained import MaintainedMetrics
from .pipeline import critical_first
from .verifier import Outcome, Verifier

logger = logging.getLogger("dashboard.listener")


class Folding:
    """The incremental state, its verifier and the period summary, as the listener drives them."""

    def __init__(
        self, verify_interval: float | None, on_batch: Callable[[dict], Any] | None = None
    ) -> None:
        self.maintained = MaintainedMetrics()
        self.verifier = Verifier(verify_interval)
        self.summary = PeriodSummary()
        self.on_batch = on_batch
        self.flushes = 0
        # Metrics whose module tells urgent changes (broadcast at once) from the others.
        self._urgent = {
            name: METRICS[name].hook("urgent")
            for name in LIVE_METRICS
            if METRICS[name].hook("urgent")
        }

    async def resync(self, reason: str) -> list[str]:
        """Build the state again from the source, then store and broadcast every live metric."""
        logger.info("full resync (%s)", reason)
        self.verifier.abandon()
        await self.maintained.rebuild(reason)
        telemetry.resyncs.labels(reason=reason).inc()
        return await self.maintained.publish(LIVE_METRICS, force=True)

    async def rebuild(self, reason: str) -> list[str]:
        """Build the state again from the source; broadcast the metrics that differ from the
        last known values."""
        self.verifier.abandon()
        await self.maintained.rebuild(reason)
        return await self.maintained.publish(LIVE_METRICS)

    def fold(self, batch: PendingBatch, event: dict) -> None:
        """Fold one change into the state; the metrics it moved become dirty."""
        collection = event.get("ns", {}).get("coll", "?")
        moved = self.maintained.apply(event)
        self.verifier.saw(collection)
        self.summary.changes += 1
        telemetry.changes_processed.labels(collection=collection).inc()
        urgent = any(self._urgent[metric](event) for metric in moved if metric in self._urgent)
        batch.add(event, time.monotonic(), event_time(event), urgent, metrics=moved)

    async def upkeep(self, batch: PendingBatch, item: StreamItem | None) -> None:
        """Between stream items: day rollover, verification rounds, the periodic summary."""
        rolled = self.maintained.day_ended()
        if rolled:
            logger.info("a new day: %s roll over", ", ".join(rolled))
            batch.mark(rolled, time.monotonic())
        ticking = self.maintained.ticks_due(time.monotonic())
        if ticking:
            # Rebuilt at the current time; broadcast only if the value moved.
            batch.mark(ticking, time.monotonic())
        outcome = self.verifier.conclude(item, self.maintained.state)
        if outcome is not None:
            await self._verified(batch, outcome)
        self.verifier.maybe_start(self.maintained.state)
        if self.summary.due():
            if self.maintained.state is not None:
                self.maintained.report_memory()
            logger.info(self.summary.line())

    async def _verified(self, batch: PendingBatch, outcome: Outcome) -> None:
        for metric in outcome.matched:
            telemetry.metric_verifications.labels(metric=metric, result="match").inc()
        for metric in outcome.busy:
            telemetry.metric_verifications.labels(metric=metric, result="busy").inc()
        for metric, found in outcome.drifted.items():
            telemetry.metric_verifications.labels(metric=metric, result="drift").inc()
            telemetry.metric_drift.labels(metric=metric).inc()
            self.summary.corrections += 1
            logger.warning(
                "metric drift: %s differs from the full aggregation (%s); rebuilding it",
                metric,
                differences_summary(found),
            )
            await self.maintained.correct(metric)
            batch.mark([metric], time.monotonic())
        self.summary.verified += len(outcome.matched) + len(outcome.drifted)
        for metric in outcome.matched:
            logger.debug("verification: %s matches the full aggregation", metric)
        for metric in outcome.busy:
            logger.debug("verification: %s changed during its recount; recounted later", metric)

    async def flush(
        self, batch: PendingBatch, *, everything: bool, kind: str | None = None
    ) -> None:
        """Build the dirty metrics (all, or the critical ones) from the state, broadcast what
        changed. `kind` says what brought the flush (a critical change, else the window)."""
        started = time.time()
        taken, by_collection = batch.take(everything)
        ordered = critical_first(taken)
        sent = await self.maintained.publish(ordered)
        done = time.time()
        times = [t for moments in taken.values() for t in moments if t is not None]
        lag = done - min(times) if times else None
        changes = sum(by_collection.values())
        self.summary.flushed(len(sent), lag)
        if changes:
            telemetry.batch_size.observe(changes)
        if lag is not None:
            telemetry.listener_lag.set(lag)
        for metric in sent:
            tier = METRICS[metric].tier.value
            for moment in taken[metric]:
                if moment is not None:
                    telemetry.update_latency.labels(tier=tier).observe(max(0.0, done - moment))
        self.flushes += 1
        kind = kind or ("window" if everything else "critical")
        logger.debug(
            "batch (%s): %d changes %s, %d metrics built, %d broadcast %s, lag %s",
            kind,
            changes,
            dict(by_collection),
            len(ordered),
            len(sent),
            sent,
            "unknown" if lag is None else f"{lag * 1000:.0f} ms",
        )
        if self.on_batch is not None:
            self.on_batch(
                {
                    "kind": kind,
                    "changes": changes,
                    "collections": dict(by_collection),
                    "recomputed": ordered,
                    "broadcast": sent,
                    "lag_ms": None if lag is None else round(lag * 1000, 1),
                    "compute_ms": round((done - started) * 1000, 1),
                }
            )
