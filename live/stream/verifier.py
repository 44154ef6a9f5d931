"""The listener's verification recount: each incrementally kept metric against the full aggregation.

On a timer (DASHBOARD_VERIFY_INTERVAL) and on demand (SIGUSR1), the listener
recounts its metrics with the full aggregations, one metric at a time, in a
worker thread while it keeps folding changes. The comparison is exact only if
the metric's collection did not change while its recount ran, so the round
waits until the stream proves it has handed over every change committed
before the recount ended: an idle poll that started after it, or a change
committed after it (by the database's cluster time, read right after the
recount, which the embedded store keeps as a replica set does). If a
change of that collection was folded meanwhile, the metric is recounted again
a little later ("busy"). A metric that differs is recounted once more before
the difference is counted as drift, logged and corrected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.compute import compute_base
from metrics.incremental import IncrementalMetrics, comparable, differences
from metrics.incremental.verification import summary
from metrics.store import get_database
from runtime.off_loop import off_loop

from .batching import StreamItem, StreamReader
from .changes import event_time

logger = logging.getLogger("dashboard.listener")

# Waits before recounting a metric whose collection was busy, attempt after attempt; after
# the last one it waits for the next round.
BUSY_RETRIES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class Recount:
    value: dict
    finished_at: float  # this process's clock
    cluster_time: Any  # the database's operationTime right after (None if it gave none)


def recount(metric: str, now: dt.datetime) -> Recount:
    """The full aggregation at `now`, and when it was done."""
    value = compute_base(metric, now=now)
    finished_at = time.time()
    reply = get_database().command("ping")
    return Recount(value, finished_at, reply.get("operationTime"))


@dataclass
class Round:
    metric: str
    state: IncrementalMetrics  # a rebuilt state voids the round
    now: dt.datetime
    task: asyncio.Future
    touched: bool = False  # a change of the metric's collection was folded since it began


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
        # metric -> (busy recounts so far, not before): the metrics waiting for a recount
        self.waiting: dict[str, tuple[int, float]] = {}
        self.suspects: set[str] = set()  # differed once: recounted again before it counts

    def request(self) -> None:
        """Verify every metric as soon as possible (SIGUSR1, `watch_changes --verify`)."""
        self.requested = True

    def maybe_start(self, state: IncrementalMetrics | None) -> None:
        """Start the next recount if one is due and none is running."""
        if self.round is not None or state is None:
            return
        now = time.monotonic()
        if self.requested or now >= self.due_at:
            self.requested = False
            self.due_at = now + self.interval if self.interval else float("inf")
            self.waiting = {metric: (0, now) for metric in LIVE_METRICS}
        ready = [m for m in LIVE_METRICS if m in self.waiting and self.waiting[m][1] <= now]
        if not ready:
            return
        metric, moment = ready[0], timezone.now()
        task = asyncio.ensure_future(off_loop(recount)(metric, moment))
        self.round = Round(metric, state, moment, task)

    def saw(self, collection: str) -> None:
        if self.round is not None and collection in METRICS[self.round.metric].collections:
            self.round.touched = True

    def abandon(self) -> None:
        """The state is being rebuilt: this recount compares nothing; it is done again."""
        if self.round is not None:
            self.waiting.setdefault(self.round.metric, (0, time.monotonic()))
            self.round = None

    def conclude(self, item: StreamItem | None, state: IncrementalMetrics | None) -> Outcome | None:
        """After each stream item: the round's outcome, once the comparison can be made."""
        current = self.round
        if current is None or not current.task.done():
            return None
        if current.task.exception() is not None:
            logger.warning("verification recount failed: %r", current.task.exception())
            self.round = None
            self._later(current.metric, len(BUSY_RETRIES) - 1)
            return None
        if state is not current.state or state.window.first > state.window.date_of(current.now):
            self.abandon()  # rebuilt, or past midnight: the state no longer holds that day
            return None
        done: Recount = current.task.result()
        if not _caught_up(item, done):
            return None
        self.round = None
        return self._compare(current, done.value)

    def _compare(self, current: Round, recounted: dict) -> Outcome:
        outcome, metric = Outcome(), current.metric
        if current.touched:
            outcome.busy.append(metric)
            self._later(metric, self.waiting.get(metric, (0, 0.0))[0])
            return outcome
        self.waiting.pop(metric, None)
        kept = current.state.base(metric, current.now, acknowledgements=False)
        found = differences(comparable(metric, kept), comparable(metric, recounted))
        if not found:
            self.suspects.discard(metric)
            outcome.matched.append(metric)
        elif metric in self.suspects:
            self.suspects.discard(metric)
            outcome.drifted[metric] = found
        else:
            self.suspects.add(metric)
            self.waiting[metric] = (0, time.monotonic())
        return outcome

    def _later(self, metric: str, attempt: int) -> None:
        """Recount `metric` after its attempt's wait; past the last one, at the next round."""
        if attempt >= len(BUSY_RETRIES):
            self.waiting.pop(metric, None)
            return
        self.waiting[metric] = (attempt + 1, time.monotonic() + BUSY_RETRIES[attempt])


def _caught_up(item: StreamItem | None, done: Recount) -> bool:
    """Has the stream handed over every change committed before the recount ended?"""
    if item is None:
        return False
    if item.kind == "idle":
        return item.polled_at > done.finished_at
    if item.kind != "change":
        return False
    cluster = item.event.get("clusterTime")
    if done.cluster_time is not None and cluster is not None:
        return cluster > done.cluster_time
    committed = event_time(item.event)
    return committed is not None and committed > done.finished_at


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
            if verifier.round is None and not verifier.waiting:
                break  # the busy ones were given up
            item = await asyncio.to_thread(reader.get, 0.2)
            if item is not None and item.kind == "error":
                raise item.failure()
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
