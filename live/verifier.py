"""The listener's verification recount: each incrementally kept metric against the full aggregation.

On a timer (DASHBOARD_VERIFY_INTERVAL) and on demand (SIGUSR1), the listener
recomputes metrics with the full aggregations in a worker thread while it keeps
folding changes. The comparison is exact only if the metric's collection did
not change while the recount ran, so the round waits until the stream proves
it has handed over every change committed before the recount ended (an idle
poll started after it, or a change committed after it), and compares only the
metrics whose collection saw no change since the round began; the others are
recounted again a little later ("busy"). A metric that differs is recounted
once more before the difference is counted as drift, logged and corrected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.utils import timezone

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.compute import compute_base
from metrics.incremental import IncrementalMetrics, differences, without_acknowledgements
from metrics.incremental.verification import summary
from metrics.store import get_database

from .batching import StreamItem, StreamReader
from .changes import event_time
from .services import off_loop

logger = logging.getLogger("dashboard.listener")

# Seconds the database's clock may run ahead of this process's (a change's commit time is
# the database's).
CLOCK_MARGIN = 1.0
# Waits before recounting a metric whose collection was busy, attempt after attempt.
BUSY_RETRIES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


def recount(metrics: list[str], now: dt.datetime) -> tuple[dict[str, dict], float]:
    """The full aggregations at `now`, and the wall-clock time they were done."""
    return {metric: compute_base(metric, now=now) for metric in metrics}, time.time()


@dataclass
class Round:
    metrics: list[str]
    state: IncrementalMetrics  # a rebuilt state voids the round
    now: dt.datetime
    task: asyncio.Future
    touched: set[str] = field(default_factory=set)  # collections changed since the round began


@dataclass
class Outcome:
    matched: list[str] = field(default_factory=list)
    drifted: dict[str, list[str]] = field(default_factory=dict)  # metric -> differences
    busy: list[str] = field(default_factory=list)


class Verifier:
    """Schedules recounts and decides, item by item from the stream, when one can be compared."""

    def __init__(self, interval: float | None) -> None:
        self.interval = interval if interval and interval > 0 else None
        self.due_at = time.monotonic() + self.interval if self.interval else float("inf")
        self.requested = False
        self.round: Round | None = None
        self.attempts: dict[str, int] = {}  # metric -> busy recounts so far, waiting for another
        self.retry_at = float("inf")
        self.suspects: set[str] = set()  # differed once: recounted again before it counts

    def request(self) -> None:
        """Verify every metric as soon as possible (SIGUSR1, `watch_changes --verify`)."""
        self.requested = True

    def maybe_start(self, state: IncrementalMetrics | None) -> None:
        """Start a recount if one is due and none is running."""
        if self.round is not None or state is None:
            return
        now = time.monotonic()
        if self.requested or now >= self.due_at:
            metrics = list(LIVE_METRICS)
            self.requested, self.attempts = False, {}
            self.due_at = now + self.interval if self.interval else float("inf")
        elif self.attempts and now >= self.retry_at:
            metrics = [metric for metric in LIVE_METRICS if metric in self.attempts]
        else:
            return
        self.retry_at = float("inf")
        moment = timezone.now()
        task = asyncio.ensure_future(off_loop(recount)(metrics, moment))
        self.round = Round(metrics, state, moment, task)

    def saw(self, collection: str) -> None:
        if self.round is not None:
            self.round.touched.add(collection)

    def abandon(self) -> None:
        """The state is being rebuilt: this round compares nothing; recount everything soon."""
        if self.round is not None:
            self._again(self.round.metrics, 0.0)
            self.round = None

    def conclude(self, item: StreamItem | None, state: IncrementalMetrics | None) -> Outcome | None:
        """After each stream item: the round's outcome, once the comparison can be made."""
        current = self.round
        if current is None or not current.task.done():
            return None
        if current.task.exception() is not None:
            logger.warning("verification recount failed: %r", current.task.exception())
            self.round = None
            self._again(current.metrics, BUSY_RETRIES[-1])
            return None
        if state is not current.state or state.window.first > state.window.date_of(current.now):
            self.abandon()  # rebuilt, or past midnight: the state no longer holds that day
            return None
        recounted, finished_at = current.task.result()
        if not _caught_up(item, finished_at):
            return None
        self.round = None
        return self._compare(current, recounted)

    def _compare(self, current: Round, recounted: dict[str, dict]) -> Outcome:
        outcome = Outcome()
        for metric in current.metrics:
            if METRICS[metric].collections[0] in current.touched:
                attempt = self.attempts.get(metric, 0)
                outcome.busy.append(metric)
                if attempt < len(BUSY_RETRIES):
                    self._again([metric], BUSY_RETRIES[attempt], attempt + 1)
                else:
                    self.attempts.pop(metric, None)  # until the next interval
                continue
            kept = current.state.base(metric, current.now, acknowledgements=False)
            found = differences(
                without_acknowledgements(metric, kept),
                without_acknowledgements(metric, recounted[metric]),
            )
            self.attempts.pop(metric, None)
            if not found:
                self.suspects.discard(metric)
                outcome.matched.append(metric)
            elif metric in self.suspects:
                self.suspects.discard(metric)
                outcome.drifted[metric] = found
            else:
                self.suspects.add(metric)
                self._again([metric], 0.0)
        return outcome

    def _again(self, metrics: list[str], delay: float, attempt: int = 0) -> None:
        """Recount these metrics in `delay` seconds (the earliest asked wins)."""
        for metric in metrics:
            self.attempts[metric] = attempt
        self.retry_at = min(self.retry_at, time.monotonic() + delay)


def _caught_up(item: StreamItem | None, finished_at: float) -> bool:
    """Has the stream handed over every change committed before `finished_at`?"""
    if item is None:
        return False
    if item.kind == "idle":
        return item.polled_at > finished_at
    if item.kind == "change":
        committed = event_time(item.event)
        return committed is not None and committed > finished_at + CLOCK_MARGIN
    return False


async def verify_once(collections: list[str], timeout: float = 120.0) -> dict[str, str]:
    """Build the state as a starting listener does (stream first, then the scans), follow the
    stream, and verify every metric once, as the listener's rounds do.

    Returns metric -> "match", "differs: ..." or "busy" (its collection never stayed still for
    a whole recount before `timeout`). Nothing is stored or broadcast.
    """
    database = get_database()
    stream = await asyncio.to_thread(
        database.watch,
        [{"$match": {"ns.coll": {"$in": collections}}}],
        full_document="updateLookup",
        max_await_time_ms=200,
    )
    reader = StreamReader(stream)
    results: dict[str, str] = {}
    try:
        state = await off_loop(IncrementalMetrics.build)(database, timezone.now())
        reader.start()
        verifier = Verifier(None)
        verifier.request()
        deadline = time.monotonic() + timeout
        while len(results) < len(LIVE_METRICS) and time.monotonic() < deadline:
            verifier.maybe_start(state)
            item = await asyncio.to_thread(reader.get, 0.2)
            if item is not None and item.kind == "error":
                raise item.error
            if item is not None and item.kind == "change":
                state.apply(item.event)
                verifier.saw(item.event.get("ns", {}).get("coll", "?"))
            outcome = verifier.conclude(item, state)
            if outcome is not None:
                results.update(dict.fromkeys(outcome.matched, "match"))
                results.update(
                    {m: f"differs: {summary(found)}" for m, found in outcome.drifted.items()}
                )
    finally:
        await asyncio.to_thread(reader.halt)
        await asyncio.to_thread(stream.close)
    return {metric: results.get(metric, "busy") for metric in LIVE_METRICS}
