"""The listener's two halves: a thread that reads the change stream, and the batch it fills.

Reading happens in a thread of its own so that waiting on the stream (a getMore
that blocks up to `max_await_time_ms`) never delays a flush, and so that the
stream is read ahead while metrics are being recomputed.

The batch follows the seed's rule (up to `batch_size` changes or
`batch_interval` seconds, critical first) with one refinement: a critical
metric does not wait for the window. It is rebuilt as soon as the reader has
nothing more queued (so the changes that arrived during one flush are folded
into the next), or at once for an emergency. Standard metrics wait for the
window, or go with a critical flush once they have waited half of it
(RIDE_ALONG_AFTER): every socket then gets one frame where it would get two
within half a second, which at thousands of sockets is most of a server's
work, and a standard metric is still rebuilt at most twice a window. A
change dirties only the metrics whose incremental state it moved.
The checkpoint may only move when nothing is dirty: then every change up to
the reader's last token has been broadcast.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from metrics.catalogue import METRICS, metrics_reading

# How long the reader waits to hand over an item, and the processor to receive one,
# before looking at its stop flag again.
HANDOFF_SECONDS = 0.2
# The part of the window after which a critical flush takes the standard metrics along.
RIDE_ALONG_AFTER = 0.5


@dataclass(frozen=True)
class StreamItem:
    """One thing the reader saw: a change, an idle poll, the end of the stream, or an error."""

    kind: str  # "change" | "idle" | "invalidated" | "error"
    token: Any = None  # the stream's resume token after this item
    event: dict = field(default_factory=dict)  # the change event ("change" items only)
    error: BaseException | None = None
    # Wall-clock time the poll that produced this item started: an idle poll started at t
    # means every change committed before t has been handed over already.
    polled_at: float = 0.0

    def failure(self) -> BaseException:
        """The exception an "error" item carries, to raise where the stream is consumed."""
        return self.error or RuntimeError("the change stream failed")


class StreamReader:
    """Reads a change stream in a daemon thread into a bounded queue (which throttles it)."""

    def __init__(self, stream: Any, capacity: int = 1000) -> None:
        self.stream = stream
        self._queue: queue.Queue[StreamItem] = queue.Queue(maxsize=capacity)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="change-stream-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        """Stop reading and wait for the thread (at most one poll), so the stream can be closed."""
        self._halt.set()
        if self._thread.ident is not None:  # started
            self._thread.join()

    def empty(self) -> bool:
        return self._queue.empty()

    def get(self, timeout: float) -> StreamItem | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _run(self) -> None:
        try:
            while not self._halt.is_set():
                polled_at = time.time()
                event = self.stream.try_next()
                token = self.stream.resume_token
                if event is None:
                    ended = not self.stream.alive
                    kind = "invalidated" if ended else "idle"
                    self._put(StreamItem(kind, token, polled_at=polled_at))
                    if ended:
                        return
                elif event["operationType"] == "invalidate":
                    self._put(StreamItem("invalidated", token))
                    return
                else:
                    self._put(StreamItem("change", token, event, polled_at=polled_at))
        except BaseException as exc:  # handed to the processor, which decides what it means
            self._put(StreamItem("error", error=exc))

    def _put(self, item: StreamItem) -> None:
        while not self._halt.is_set():
            try:
                self._queue.put(item, timeout=HANDOFF_SECONDS)
                return
            except queue.Full:
                continue


@dataclass
class PendingBatch:
    """Changes not yet fully broadcast, and the metrics they left dirty."""

    batch_size: int
    batch_interval: float
    window_started: float | None = None  # monotonic time of the window's first change
    window_changes: int = 0
    urgent: bool = False
    # Changes (by collection) not yet fully broadcast: reported by the flush that completes them.
    pending: Counter = field(default_factory=Counter)
    # metric -> wall-clock times of the changes that touched it (None where unknown).
    dirty: dict[str, list[float | None]] = field(default_factory=dict)

    def add(
        self,
        event: dict,
        now: float,
        moment: float | None,
        urgent: bool = False,
        metrics: Iterable[str] | None = None,
    ) -> None:
        """A change that moved `metrics` (default: every metric its collection feeds).

        A change that moved none is counted (it is reported with the next flush)
        but opens no window and dirties nothing.
        """
        collection = event.get("ns", {}).get("coll", "?")
        self.pending[collection] += 1
        metrics = metrics_reading(collection) if metrics is None else list(metrics)
        if not metrics:
            return
        if self.window_started is None:
            self.window_started = now
        self.window_changes += 1
        self.urgent = self.urgent or urgent
        for metric in metrics:
            self.dirty.setdefault(metric, []).append(moment)

    def mark(self, metrics: Iterable[str], now: float) -> None:
        """Metrics to broadcast though no change moved them (a new day, a corrected drift)."""
        for metric in metrics:
            if self.window_started is None:
                self.window_started = now
            self.dirty.setdefault(metric, []).append(None)

    @property
    def clean(self) -> bool:
        return not self.dirty

    def critical_dirty(self) -> bool:
        return any(METRICS[name].critical for name in self.dirty)

    def window_due(self, now: float, ending: bool = False) -> bool:
        if self.window_started is None:
            return False
        return (
            ending
            or self.window_changes >= self.batch_size
            or now - self.window_started >= self.batch_interval
        )

    def standard_may_ride(self, now: float) -> bool:
        """Has the window been open long enough for a critical flush to take everything?"""
        if self.window_started is None:
            return False
        return now - self.window_started >= RIDE_ALONG_AFTER * self.batch_interval

    def seconds_to_window(self, now: float) -> float | None:
        if self.window_started is None:
            return None
        return max(0.0, self.window_started + self.batch_interval - now)

    def take(self, everything: bool) -> tuple[dict[str, list[float | None]], Counter]:
        """Remove the metrics to flush now (all, or the critical ones) with their change times,
        and the changes (by collection) this flush completes."""
        names = [name for name in self.dirty if everything or METRICS[name].critical]
        taken = {name: self.dirty.pop(name) for name in names}
        # A collection's changes are done once none of the metrics they feed is still dirty.
        reported = Counter(
            {
                collection: count
                for collection, count in self.pending.items()
                if not any(metric in self.dirty for metric in metrics_reading(collection))
            }
        )
        self.pending -= reported
        self.urgent = False
        if not self.dirty:
            self.window_started, self.window_changes = None, 0
        return taken, reported
