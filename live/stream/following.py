"""Following the change stream for one leadership: from the checkpoint on, or from a full resync.

Each change is folded into the incremental state at once and dirties the
metrics it moved; the batch is flushed as batching.py says (critical first);
the stream's resume token is saved in the dashboard's own database only when
nothing is left dirty, so delivery is at-least-once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from metrics.store import get_database

from . import checkpoints
from .batching import HANDOFF_SECONDS, PendingBatch, StreamReader
from .changes import StreamInvalidated
from .folding import Folding
from .maintained import MaintainedMetrics

POLL_MS = 200
IDLE_CHECKPOINT_SECONDS = 5.0


class StreamFollower:
    """Reads the stream into the folding; the listener decides when it leads and retries."""

    def __init__(
        self,
        *,
        name: str,
        collections: list[str],
        batch_size: int,
        batch_interval: float,
        folding: Folding,
        stop: asyncio.Event,
        on_open: Callable[[], None],
        heard: Callable[[float], None],
        still_leading: Callable[[], Awaitable[bool]],
    ) -> None:
        self.name = name  # the checkpoint's name
        self.collections = collections
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.folding = folding
        self.stop = stop
        self.on_open = on_open  # the stream is open: the listener is active
        self.heard = heard  # the stream was read at (epoch seconds): the heartbeat
        self.still_leading = still_leading  # renews the lease before the checkpoint moves
        self.token: dict | None = None
        self.needs_resync = False
        self.resync_reason: str | None = None  # why the next resync happens, for the figures

    @property
    def maintained(self) -> MaintainedMetrics:
        return self.folding.maintained

    async def _load_checkpoint(self) -> dict | None:
        return await checkpoints.load(self.name)

    async def _save_checkpoint(self, token: dict | None) -> None:
        await checkpoints.save(self.name, token)
        self.token = token

    async def forget_position(self, reason: str) -> None:
        """The checkpoint no longer leads anywhere: the next start resyncs (for `reason`)."""
        await self._save_checkpoint(None)
        self.needs_resync, self.resync_reason = True, reason

    def _open(self, token: dict | None):
        pipeline = [{"$match": {"ns.coll": {"$in": self.collections}}}]
        return get_database().watch(
            pipeline,
            full_document="updateLookup",
            resume_after=token,
            max_await_time_ms=POLL_MS,
        )

    async def follow(self, lost: asyncio.Event) -> None:
        """Open the stream at the checkpoint (resyncing when there is none) and follow it until
        stopped or `lost` (the lease went to another listener)."""
        token = await self._load_checkpoint()
        stream = await asyncio.to_thread(self._open, token)
        reader = StreamReader(stream, capacity=10 * self.batch_size)
        try:
            self.on_open()
            if token is None or self.needs_resync:
                # No known position (first start, history lost, invalidated): every
                # metric from the source, after the new stream is open, so nothing
                # between the two is missed.
                await self.full_resync(reason=self.resync_reason or "start")
                await self._save_checkpoint(stream.resume_token)
            elif not self.maintained.ready:
                # Resuming from the checkpoint: the changes since it are folded on top of a
                # state that may hold some of them already, which a fold takes in its stride.
                # What differs from the last broadcast values goes out now.
                await self.folding.rebuild("resume")
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
            ending = self.stop.is_set()
            item = None if ending else await asyncio.to_thread(reader.get, self._wait(batch))
            if item is not None:
                self.heard(item.polled_at)
                if item.kind == "error":
                    raise item.failure()
                if item.kind == "invalidated":
                    raise StreamInvalidated()
                position = item.token
                if item.kind == "change":
                    self.folding.fold(batch, item.event)
                    changed = True
                    if not self.maintained.ready:  # a renamed collection, a dropped database
                        await self.forget_position("unfollowable")
                        return
            await self.folding.upkeep(batch, item)
            now = time.monotonic()
            if batch.window_due(now, ending):
                await self.folding.flush(batch, everything=True)
            elif batch.critical_dirty() and (batch.urgent or reader.empty()):
                everything = batch.standard_may_ride(now)
                await self.folding.flush(batch, everything=everything, kind="critical")
            if (
                batch.clean
                and position is not None
                and position != self.token
                and (changed or ending or now - saved_at >= IDLE_CHECKPOINT_SECONDS)
            ):
                # After changes, at once; while idle the position still advances with every
                # poll (a post-batch token), which only needs saving now and then. Only the
                # lease holder moves it: a leader that lost the lease (a failover) stops here.
                if not await self.still_leading():
                    lost.set()
                    return
                await self._save_checkpoint(position)
                changed, saved_at = False, now
            if ending:
                return

    def _wait(self, batch: PendingBatch) -> float:
        until_window = batch.seconds_to_window(time.monotonic())
        return HANDOFF_SECONDS if until_window is None else min(HANDOFF_SECONDS, until_window)

    async def full_resync(self, reason: str = "manual") -> list[str]:
        """Build the state again from the source, then store and broadcast every live metric."""
        sent = await self.folding.resync(reason)
        self.needs_resync, self.resync_reason = False, None
        return sent
