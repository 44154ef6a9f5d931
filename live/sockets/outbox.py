"""What waits to go out on one socket: written at once while the socket keeps up, conflated when not.

The hub offers every update to every socket without waiting on any of them
(`offer` never awaits). A socket that keeps up gets the update written at
once (the frame built once for everyone, live/sockets/frames.py). A burst
(flushes that queued while the server was busy) goes out whole to a socket
that reads, though for a moment its transport holds more than HIGH_WATER: the
hub writes faster than any client reads. A socket whose transport has held
more than HIGH_WATER bytes unsent for BEHIND_AFTER_SECONDS, or holds more than
BURST_WATER, is behind: from then on only the newest value of each metric
waits for it (at most one per metric, so memory stays bounded), and a drain
task writes them once the transport is below LOW_WATER, newest only, never an
older value after a newer one. A socket still behind after
DASHBOARD_SLOW_SOCKET_SECONDS, or whose peer has left data unacknowledged in
the kernel at every look for as long, is closed with 4008 (the close frame
queued behind what it has not read; the connection dropped if it has not read
that ABORT_AFTER_SECONDS later, or as long as the slow limit where that is
longer). Sockets without a direct writer (another ASGI server, tests) get the
same updates through ASGI from the drain task.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings

from runtime import telemetry

from . import protocol
from .frames import DirectWriter, close_frame, text_frame
from .subscriptions import SocketSubscriptions, live_order

logger = logging.getLogger("dashboard.ws")

# A dashboard gets a few KB a second: 16 KiB unsent beyond the kernel's 32 KiB (frames.py) for a
# second is several seconds behind. A burst passes it for a moment in a socket that reads: 200
# updates of 250 bytes written in one turn of the loop, faster than any client reads them (the
# kernel takes some 100 small frames of them), or a large reply (a month of history). Those go
# out whole up to BURST_WATER, the most one socket holds before it counts as behind at once.
HIGH_WATER = 16 * 1024
BEHIND_AFTER_SECONDS = 1.0
BURST_WATER = 64 * 1024
LOW_WATER = 4 * 1024
DRAIN_POLL_SECONDS = 0.05
# A socket whose peer leaves more than this unacknowledged in the kernel at every look (when an
# update is offered, a tenth of DASHBOARD_SLOW_SOCKET_SECONDS apart and LOOK_EVERY_SECONDS at
# most) for DASHBOARD_SLOW_SOCKET_SECONDS has stopped reading: a dashboard gets a few KB a
# second, so a client that reads is back near 0 between two updates. This finds a client that
# reads nothing long before its buffers fill. A look is a system call: at thousands of sockets,
# one a second each was a twentieth of a worker's time.
UNREAD_LIMIT = 4 * 1024
LOOK_EVERY_SECONDS = 3.0
LOOKS_PER_LIMIT = 10
# A socket closed for being slow is dropped if it has not read its close frame this long after.
ABORT_AFTER_SECONDS = 30.0


@dataclass
class Update:
    """One metric's value for one scope, serialized once for every socket of that scope."""

    metric: str
    version: int
    wire: dict
    # The `"metric": …, "data": …` JSON members, shared by the single and the batched frames.
    members: str
    _frame: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, metric: str, wire: dict) -> Update:
        members = protocol.encode({"metric": metric, **wire})[1:-1]
        return cls(metric, wire["version"], wire, members)

    @property
    def text(self) -> str:
        return '{"type":"dashboard_update",' + self.members + "}"

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.text)
        return self._frame


def batch_text(updates: list[Update], request_id: str | None = None) -> str:
    """One `dashboard_updates` message carrying every update given."""
    items = ",".join("{" + update.members + "}" for update in updates)
    suffix = "" if request_id is None else ',"requestId":' + protocol.encode(request_id)
    return '{"type":"dashboard_updates","updates":[' + items + "]" + suffix + "}"


# For one flush and one scope: the batched frame of each combination of metrics.
FrameCache = dict[tuple[str, ...], bytes]


class Outbox:
    def __init__(
        self,
        subscriptions: SocketSubscriptions,
        send_text: Callable[[str], Awaitable[None]],
        stop_sending: Callable[[], None],
    ) -> None:
        self.subscriptions = subscriptions
        self.send_text = send_text
        self.stop_sending = stop_sending
        self.writer: DirectWriter | None = None  # set once the socket is accepted
        self.batch = False  # the client asked for dashboard_updates frames
        self.pending: dict[str, Update] = {}  # metric -> the newest update not yet written
        self.behind_since: float | None = None
        self.over_since: float | None = None  # since when the transport holds over HIGH_WATER
        self.unread_since: float | None = None  # since when the peer has left data unread
        self._next_look = 0.0  # when the next look is due (monotonic); 0: no offer yet
        self._closing: asyncio.Future | None = None
        self.closed_slow = False  # closed with 4008: nothing more is offered
        self._drain: asyncio.Future | None = None
        # Called when writing the updates that waited raised (the socket closes itself, 1011).
        self.on_failure: Callable[[Exception], None] | None = None

    def offer(self, updates: list[Update], frames: FrameCache) -> int:
        """Write (or keep) the updates this socket wants; how many frames went out now.

        This runs for every socket of every flush (thousands of times between two turns of the
        event loop), so it reads each thing once and calls as little as it can."""
        fresh = self.subscriptions.fresh(updates)
        if not fresh or self._closing is not None or self.closed_slow:
            return 0
        writer = self.writer
        if writer is not None and time.monotonic() >= self._next_look:
            if self._unread_too_long(writer):
                limit = settings.DASHBOARD_SLOW_SOCKET_SECONDS
                self._closing = asyncio.ensure_future(self._close_slow(writer, limit))
                return 0
        if self.pending or writer is None or not writer.open() or self._behind(writer):
            self._keep(fresh)
            return 0
        self.subscriptions.sent_all(fresh)
        if not self.batch:
            for update in fresh:
                writer.write(update.frame)
            return len(fresh)
        key = tuple([update.metric for update in fresh])
        frame = frames.get(key)
        if frame is None:
            frame = frames[key] = text_frame(batch_text(fresh))
        writer.write(frame)
        return 1

    def write_now(self, frame: bytes) -> bool:
        """Write a frame that is not an update (a status) straight to the socket; False when
        this socket has no direct writer open now (the caller sends it through ASGI)."""
        writer = self.writer
        if writer is None or not writer.open():
            return False
        writer.write(frame)
        return True

    def _behind(self, writer: DirectWriter) -> bool:
        """Has the transport held over HIGH_WATER at every offer for BEHIND_AFTER_SECONDS, or does
        it hold over BURST_WATER now?"""
        buffered = writer.buffered()
        if buffered <= HIGH_WATER:
            self.over_since = None
            return False
        now = time.monotonic()
        if self.over_since is None:
            self.over_since = now
        return buffered > BURST_WATER or now - self.over_since > BEHIND_AFTER_SECONDS

    def _unread_too_long(self, writer: DirectWriter) -> bool:
        """A look, due now: has the peer left more than UNREAD_LIMIT unread at every look for
        the slow limit?"""
        now = time.monotonic()
        # Read here, not at every offer: a Django setting costs a microsecond, a worker offers
        # thousands of updates in a flush.
        limit = settings.DASHBOARD_SLOW_SOCKET_SECONDS
        look_every = min(LOOK_EVERY_SECONDS, limit / LOOKS_PER_LIMIT)
        if self._next_look == 0.0:
            # The first offer: the first look comes at a random point of the first period.
            # Sockets that opened together would otherwise all look in the same flush, a
            # system call each, and that flush would reach its last socket later.
            self._next_look = now + random.random() * look_every
            return False
        self._next_look = now + look_every
        if writer.unread() <= UNREAD_LIMIT:
            self.unread_since = None
            return False
        if self.unread_since is None:
            self.unread_since = now
        return now - self.unread_since > limit

    def _keep(self, updates: list[Update]) -> None:
        for update in updates:
            kept = self.pending.get(update.metric)
            if kept is None or kept.version <= update.version:  # equal: computed later
                self.pending[update.metric] = update
        if self.behind_since is None:
            self.behind_since = time.monotonic()
        if self._drain is None or self._drain.done():
            self._drain = asyncio.ensure_future(self._drain_pending())
            self._drain.add_done_callback(self._drained)

    def _drained(self, task: asyncio.Future) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if self.on_failure is not None and isinstance(exc, Exception):
            self.on_failure(exc)
        else:
            logger.warning("writing waiting updates failed: %r", exc)

    async def _drain_pending(self) -> None:
        limit = settings.DASHBOARD_SLOW_SOCKET_SECONDS
        while self.pending:
            writer = self.writer
            if writer is not None and (not writer.open() or writer.buffered() > LOW_WATER):
                if time.monotonic() - (self.behind_since or 0) > limit:
                    await self._close_slow(writer, limit)
                    return
                await asyncio.sleep(DRAIN_POLL_SECONDS)
                continue
            updates = [self.pending.pop(metric) for metric in live_order(list(self.pending))]
            fresh = [u for u in updates if self.subscriptions.record(u.metric, u.wire)]
            self.behind_since = self.over_since = None
            if fresh:
                await self.send(fresh)

    async def send(self, updates: list[Update], request_id: str | None = None) -> None:
        """Write updates already taken as sent, by the one path every update takes: straight to
        the socket while it has a direct writer open (through ASGI the hub's next direct write
        could overtake them), else through ASGI, where the hub's updates then wait too.
        `request_id` marks a reply (the current values a subscription asked for)."""
        if self.batch:
            texts = [batch_text(updates, request_id)]
        elif request_id is None:
            texts = [u.text for u in updates]
        else:
            texts = [
                protocol.encode(
                    protocol.with_request_id(
                        protocol.dashboard_update(u.metric, u.wire), request_id
                    )
                )
                for u in updates
            ]
        kind = "dashboard_updates" if self.batch else "dashboard_update"
        telemetry.messages_out.labels(type=kind).inc(len(texts))
        for text in texts:
            writer = self.writer
            if writer is not None and writer.open():
                writer.write(text_frame(text))
            else:
                await self.send_text(text)

    async def _close_slow(self, writer: DirectWriter, limit: float) -> None:
        """Behind for too long: a close frame queued after what it has not read (not through
        ASGI, which would wait for the socket to drain), then, if the connection is still
        there after as long again, the connection dropped."""
        self.closed_slow = True
        logger.info("closing a socket that stayed %.0f s behind", limit)
        telemetry.slow_sockets_closed.inc()
        self.pending.clear()
        self.stop_sending()
        if writer.open():
            writer.write(close_frame(protocol.CLOSE_TOO_SLOW))
        await asyncio.sleep(max(limit, ABORT_AFTER_SECONDS))
        writer.abort()

    def forget(self, metric: str) -> None:
        """The socket left this metric's scope: an update still waiting for it never goes out."""
        self.pending.pop(metric, None)

    def cancel(self) -> None:
        """The socket ended: nothing more goes out."""
        for task in (self._drain, self._closing):
            if task is not None:
                task.cancel()
        self.pending.clear()
