"""Where changes come in: the change-stream listener (`manage.py watch_changes`, or in `serve`).

One stream over the watched collections, with every operation type and no
filter on `fullDocument` (a delete has none, and a soft delete would drop
out). Changes are batched (up to `batch_size` or `batch_interval` seconds,
whichever comes first), critical first: critical metrics are recomputed as
soon as the stream has nothing more queued, and at once for a change that
raises or resolves an emergency; standard metrics wait for the window (see
batching.py). Each flush recomputes each touched metric once, broadcasts what
changed, and only when nothing is left dirty saves the stream's resume token
in the dashboard's own database: delivery is at-least-once.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from pymongo.errors import OperationFailure, PyMongoError

from dashboard_project import telemetry
from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.store import get_database

from .batching import HANDOFF_SECONDS, PendingBatch, StreamReader
from .lease import RedisLease
from .models import ListenerCheckpoint
from .pipeline import critical_first, refresh_and_broadcast

logger = logging.getLogger("dashboard.listener")

# Stream errors after which resuming is impossible: start afresh and resync everything.
UNRESUMABLE_CODES = {
    286,  # ChangeStreamHistoryLost
    260,  # InvalidResumeToken
    280,  # ChangeStreamFatalError
    222,  # CloseChangeStream
}
POLL_MS = 200
IDLE_CHECKPOINT_SECONDS = 5.0


class StreamInvalidated(Exception):
    """The stream ended with an `invalidate` event (a dropped collection or database)."""


def is_urgent(event: dict) -> bool:
    """Does this change raise or resolve an emergency? Then it is broadcast at once."""
    if event.get("ns", {}).get("coll") != "workflows":
        return False
    if event["operationType"] in ("delete", "replace", "drop"):
        return True
    full = event.get("fullDocument") or {}
    if full.get("priority") == "emergency":
        return True
    touched = set((event.get("updateDescription") or {}).get("updatedFields", {}))
    touched |= set((event.get("updateDescription") or {}).get("removedFields", []))
    return bool(touched & {"priority", "resolvedAt", "isActive"})


def _event_time(event: dict) -> float | None:
    wall = event.get("wallTime")
    if wall is not None:
        # pymongo returns naive UTC datetimes unless the client is tz-aware.
        return (
            wall.timestamp()
            if wall.tzinfo
            else calendar.timegm(wall.timetuple()) + (wall.microsecond / 1e6)
        )
    cluster = event.get("clusterTime")
    return float(cluster.time) if cluster is not None else None


class Backoff:
    """Exponential backoff with full jitter."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


class ChangeListener:
    def __init__(
        self,
        *,
        batch_size: int | None = None,
        batch_interval: float | None = None,
        collections: list[str] | None = None,
        name: str = "default",
        lease: RedisLease | None = None,
        on_batch: Callable[[dict], Any] | None = None,
    ) -> None:
        self.batch_size = batch_size or settings.DASHBOARD_BATCH_SIZE
        self.batch_interval = (
            settings.DASHBOARD_BATCH_INTERVAL if batch_interval is None else batch_interval
        )
        self.collections = list(collections or settings.DASHBOARD_WATCHED_COLLECTIONS)
        self.name = name
        self.lease = lease
        self.on_batch = on_batch
        self.token: dict | None = None
        self.needs_resync = False
        self.resync_reason: str | None = None  # why the next resync happens, for the figures
        self._stop = asyncio.Event()
        self.active = False
        self.batches = 0

    def stop(self) -> None:
        self._stop.set()

    # --- leadership ---------------------------------------------------------------------------------
    async def run(self, duration: float | None = None) -> None:
        """Follow the stream until stopped (or `duration` seconds), leading only while holding the lease."""
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + duration if duration else None
        if stop_at is not None:
            loop.call_at(stop_at, self._stop.set)
        try:
            while not self._stop.is_set():
                if self.lease is not None and not await self.lease.acquire():
                    await self._sleep(1.0)
                    continue
                if self.lease is not None:
                    logger.info("listener %s holds the lease", self.lease.owner)
                await self._lead()
        finally:
            self._set_active(False)
            if self.lease is not None:
                await self.lease.release()
                await self.lease.close()
            logger.info("listener stopped after %d flushes", self.batches)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _lead(self) -> None:
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._renew(lost)) if self.lease is not None else None
        backoff = Backoff()
        try:
            while not self._stop.is_set() and not lost.is_set():
                try:
                    await self._follow(lost)
                    backoff.reset()
                except StreamInvalidated:
                    logger.warning("change stream invalidated: full resync on a new stream")
                    await self._forget_position("invalidate")
                except OperationFailure as exc:
                    if exc.code in UNRESUMABLE_CODES:
                        logger.warning(
                            "change stream cannot resume (code %s): full resync", exc.code
                        )
                        await self._forget_position(f"code_{exc.code}")
                    else:
                        await self._retry_later(backoff, exc)
                except PyMongoError as exc:
                    await self._retry_later(backoff, exc)
                except Exception as exc:  # broadcast failures (channel layer down) and the like
                    self.needs_resync, self.resync_reason = True, "broadcast_failed"
                    await self._retry_later(backoff, exc)
        finally:
            self._set_active(False)
            if renewer is not None:
                renewer.cancel()

    async def _retry_later(self, backoff: Backoff, exc: Exception) -> None:
        delay = backoff.next()
        telemetry.errors.labels(kind="listener").inc()
        logger.warning(
            "listener error (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay
        )
        self._set_active(False)
        await self._sleep(delay)

    async def _renew(self, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.lease.renew_every)
            if not await self.lease.renew():
                logger.warning("listener lease lost: standing by")
                lost.set()
                return

    def _set_active(self, active: bool) -> None:
        self.active = active
        telemetry.listener_active.set(1 if active else 0)

    # --- checkpoints --------------------------------------------------------------------------------
    async def _load_checkpoint(self) -> dict | None:
        @database_sync_to_async
        def load():
            row = ListenerCheckpoint.objects.filter(name=self.name).first()
            return row.resume_token if row else None

        return await load()

    async def _save_checkpoint(self, token: dict | None) -> None:
        @database_sync_to_async
        def save():
            # One statement (an upsert), not a read then a write: the write lock is held for
            # the shortest time, and never across a computation or a broadcast.
            ListenerCheckpoint.objects.bulk_create(
                [ListenerCheckpoint(name=self.name, resume_token=token)],
                update_conflicts=True,
                unique_fields=["name"],
                update_fields=["resume_token", "updated_at"],
            )

        await save()
        self.token = token

    async def _forget_position(self, reason: str) -> None:
        await self._save_checkpoint(None)
        self.needs_resync, self.resync_reason = True, reason

    # --- the stream ---------------------------------------------------------------------------------
    def _open(self, token: dict | None):
        pipeline = [{"$match": {"ns.coll": {"$in": self.collections}}}]
        return get_database().watch(
            pipeline,
            full_document="updateLookup",
            resume_after=token,
            max_await_time_ms=POLL_MS,
        )

    async def _follow(self, lost: asyncio.Event) -> None:
        token = await self._load_checkpoint()
        stream = await asyncio.to_thread(self._open, token)
        reader = StreamReader(stream, capacity=10 * self.batch_size)
        try:
            self._set_active(True)
            if token is None or self.needs_resync:
                # No known position (first start, history lost, invalidated): every
                # metric from the source, after the new stream is open, so nothing
                # between the two is missed.
                await self.full_resync(reason=self.resync_reason or "start")
                await self._save_checkpoint(stream.resume_token)
            reader.start()
            await self._consume(reader, lost)
        finally:
            try:
                await asyncio.to_thread(reader.halt)
            finally:
                await asyncio.to_thread(stream.close)

    async def _consume(self, reader: StreamReader, lost: asyncio.Event) -> None:
        batch = PendingBatch(self.batch_size, self.batch_interval)
        position = self.token
        changed = False  # a change was read since the last checkpoint
        saved_at = time.monotonic()
        while True:
            if lost.is_set():
                return  # another listener leads now: the checkpoint is its to move
            ending = self._stop.is_set()
            item = None if ending else await asyncio.to_thread(reader.get, self._wait(batch))
            if item is not None:
                if item.kind == "error":
                    raise item.error
                if item.kind == "invalidated":
                    raise StreamInvalidated()
                position = item.token
                if item.kind == "change":
                    event = item.event
                    batch.add(event, time.monotonic(), _event_time(event), is_urgent(event))
                    changed = True
            now = time.monotonic()
            if batch.window_due(now, ending):
                await self._flush(batch, everything=True)
            elif batch.critical_dirty() and (batch.urgent or reader.empty()):
                await self._flush(batch, everything=False)
            if (
                batch.clean
                and position is not None
                and position != self.token
                and (changed or ending or now - saved_at >= IDLE_CHECKPOINT_SECONDS)
            ):
                # After changes, at once; while idle the position still advances with every
                # poll (a post-batch token), which only needs saving now and then.
                await self._save_checkpoint(position)
                changed, saved_at = False, now
            if ending:
                return

    def _wait(self, batch: PendingBatch) -> float:
        until_window = batch.seconds_to_window(time.monotonic())
        return HANDOFF_SECONDS if until_window is None else min(HANDOFF_SECONDS, until_window)

    async def _flush(self, batch: PendingBatch, *, everything: bool) -> None:
        """Recompute the dirty metrics (all, or the critical ones), broadcast what changed."""
        started = time.time()
        taken, by_collection = batch.take(everything)
        ordered = critical_first(taken)
        sent = await refresh_and_broadcast(ordered)
        done = time.time()
        times = [t for moments in taken.values() for t in moments if t is not None]
        lag = done - min(times) if times else None
        changes = sum(by_collection.values())
        for collection, count in by_collection.items():
            telemetry.changes_processed.labels(collection=collection).inc(count)
        if changes:
            telemetry.batch_size.observe(changes)
        if lag is not None:
            telemetry.listener_lag.set(lag)
        for metric in sent:
            tier = METRICS[metric].tier.value
            for moment in taken[metric]:
                if moment is not None:
                    telemetry.update_latency.labels(tier=tier).observe(max(0.0, done - moment))
        self.batches += 1
        kind = "window" if everything else "critical"
        summary = {
            "kind": kind,
            "changes": changes,
            "collections": dict(by_collection),
            "recomputed": ordered,
            "broadcast": sent,
            "lag_ms": None if lag is None else round(lag * 1000, 1),
            "compute_ms": round((done - started) * 1000, 1),
        }
        logger.info(
            "batch (%s): %d changes %s, %d metrics recomputed, %d broadcast %s, lag %s",
            kind,
            changes,
            dict(by_collection),
            len(ordered),
            len(sent),
            sent,
            "unknown" if lag is None else f"{lag * 1000:.0f} ms",
        )
        if self.on_batch is not None:
            self.on_batch(summary)

    async def full_resync(self, reason: str = "manual") -> list[str]:
        """Recompute and broadcast every live metric from the source."""
        logger.info("full resync (%s)", reason)
        sent = await refresh_and_broadcast(LIVE_METRICS, force=True)
        telemetry.resyncs.labels(reason=reason).inc()
        self.needs_resync, self.resync_reason = False, None
        return sent


def build_listener(**options: Any) -> ChangeListener:
    """A listener configured from settings: with REDIS_URL it leads only while holding the lease."""
    lease = RedisLease(settings.REDIS_URL) if settings.REDIS_URL else None
    return ChangeListener(lease=lease, **options)
