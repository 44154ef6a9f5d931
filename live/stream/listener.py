"""Where changes come in: the change-stream listener (`manage.py watch_changes`, or in `serve`).

One stream over the watched collections, with every operation type and no
filter on `fullDocument` (a delete has none, and a soft delete would drop
out). Each change is folded into the incremental state of the live metrics
(maintained.py) at once, in time independent of the data size, and dirties
the metrics it moved. Dirty metrics are batched (up to `batch_size` changes or
`batch_interval` seconds, whichever comes first), critical first: critical
metrics are flushed as soon as the stream has nothing more queued, and at once
for a change that raises or resolves an emergency; standard metrics wait for
the window (see batching.py). Each flush builds each dirty metric once from
the state, broadcasts what changed, and only when nothing is left dirty saves
the stream's resume token in the dashboard's own database: delivery is
at-least-once (following.py reads the stream; this module leads and retries). The state is checked against the full aggregations on a timer
and on SIGUSR1 (verifier.py), and the day metrics roll over at local midnight.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from pymongo.errors import OperationFailure, PyMongoError

from metrics.catalogue import watched_collections
from runtime import telemetry
from runtime.dependencies import redis_configured

from .. import liveness
from .changes import UNRESUMABLE_CODES, Backoff, StreamInvalidated
from .folding import Folding
from .following import StreamFollower
from .lease import RedisLease
from .maintained import MaintainedMetrics

logger = logging.getLogger("dashboard.listener")


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
        verify_interval: float | None = None,
        verify_on_signal: bool = False,
    ) -> None:
        self.batch_size = batch_size or settings.DASHBOARD_BATCH_SIZE
        self.batch_interval = (
            settings.DASHBOARD_BATCH_INTERVAL if batch_interval is None else batch_interval
        )
        self.collections = list(
            collections or settings.DASHBOARD_WATCHED_COLLECTIONS or watched_collections()
        )
        self.name = name
        self.lease = lease
        self._stop = asyncio.Event()
        self.active = False
        # Epoch seconds of the last stream read (a change or an idle poll): the heartbeat.
        self.read_at = 0.0
        self.folding = Folding(
            settings.DASHBOARD_VERIFY_INTERVAL if verify_interval is None else verify_interval,
            on_batch,
        )
        self.verify_on_signal = verify_on_signal
        self.follower = StreamFollower(
            name=name,
            collections=self.collections,
            batch_size=self.batch_size,
            batch_interval=self.batch_interval,
            folding=self.folding,
            stop=self._stop,
            on_open=lambda: self._set_active(True),
            heard=self._heard,
            still_leading=self._still_leading,
        )

    @property
    def batches(self) -> int:
        """Flushes so far."""
        return self.folding.flushes

    @property
    def maintained(self) -> MaintainedMetrics:
        return self.folding.maintained

    async def full_resync(self, reason: str = "manual") -> list[str]:
        """Build the state again from the source, then store and broadcast every live metric."""
        return await self.follower.full_resync(reason)

    def request_verification(self) -> None:
        """Recount every metric against the full aggregations as soon as possible."""
        self.folding.verifier.request()

    def stop(self) -> None:
        self._stop.set()

    # --- leadership ---------------------------------------------------------------------------------
    async def run(self, duration: float | None = None) -> None:
        """Follow the stream until stopped (or `duration` seconds), leading only while holding the lease."""
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + duration if duration else None
        if stop_at is not None:
            loop.call_at(stop_at, self._stop.set)
        on_signal = self.verify_on_signal and threading.current_thread() is threading.main_thread()
        if on_signal:
            loop.add_signal_handler(signal.SIGUSR1, self.request_verification)
        try:
            while not self._stop.is_set():
                if self.lease is not None and not await self.lease.acquire(time.time()):
                    await self._sleep(1.0)
                    continue
                if self.lease is not None:
                    logger.info("listener %s holds the lease", self.lease.owner)
                await self._lead()
        finally:
            if on_signal:
                loop.remove_signal_handler(signal.SIGUSR1)
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
        # Leading anew (first start, or the lease regained after another listener led): the
        # state no longer follows the stream, and is built again before the first change.
        self.maintained.forget()
        self._heard(time.time())
        lost = asyncio.Event()
        renewer = (
            asyncio.create_task(self._renew(self.lease, lost)) if self.lease is not None else None
        )
        backoff = Backoff()
        try:
            while not self._stop.is_set() and not lost.is_set():
                try:
                    await self.follower.follow(lost)
                    backoff.reset()
                except StreamInvalidated:
                    logger.warning("change stream invalidated: full resync on a new stream")
                    await self.follower.forget_position("invalidate")
                except OperationFailure as exc:
                    if exc.code in UNRESUMABLE_CODES:
                        logger.warning(
                            "change stream cannot resume (code %s): full resync", exc.code
                        )
                        await self.follower.forget_position(f"code_{exc.code}")
                    else:
                        await self._retry_later(backoff, exc)
                except PyMongoError as exc:
                    await self._retry_later(backoff, exc)
                except Exception as exc:  # broadcast failures (channel layer down) and the like
                    self.follower.needs_resync = True
                    self.follower.resync_reason = "broadcast_failed"
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

    async def _renew(self, lease: RedisLease, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(lease.renew_every)
            if not await lease.renew(self.read_at):
                logger.warning("listener lease lost: standing by")
                lost.set()
                return

    async def _still_leading(self) -> bool:
        """Without Redis, always; with it, while the lease renews (the heartbeat goes with it)."""
        return self.lease is None or await self.lease.renew(self.read_at)

    def _heard(self, at: float) -> None:
        """The stream was read at `at`: the heartbeat the lease publishes (or this process's)."""
        self.read_at = max(self.read_at, at)
        liveness.local.heard(at)

    def _set_active(self, active: bool) -> None:
        self.active = active
        telemetry.listener_active.set(1 if active else 0)


def build_listener(**options: Any) -> ChangeListener:
    """A listener configured from settings: with Redis it leads only while holding the lease.
    SIGUSR1 makes it verify its metrics against the full aggregations."""
    lease = RedisLease() if redis_configured() else None
    options.setdefault("verify_on_signal", True)
    return ChangeListener(lease=lease, **options)
