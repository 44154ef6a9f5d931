"""The pacing loop: hospital events at a steady number of changes per second, until told to stop.

The schedule is absolute (change n is due at start + n / rate on a monotonic
clock), so the rate does not drift with the time each write takes. When
writes are slower than the rate the loop runs flat out and the summary shows
the rate achieved; it never builds up more than a second of backlog, so a
pause is not followed by a burst.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import PyMongoError

from .activity import EVENTS, Event

logger = logging.getLogger("simulator")

MAX_BACKLOG = 1.0  # seconds of changes the loop may catch up on
ERROR_PAUSE = 1.0  # seconds to wait after a failed write (the store may be restarting)


@dataclass
class Tally:
    """What happened over a stretch of time: changes by event kind, events, failed events."""

    seconds: float = 0.0
    by_kind: Counter = field(default_factory=Counter)
    events: int = 0
    errors: int = 0

    @property
    def changes(self) -> int:
        return sum(self.by_kind.values())

    @property
    def rate(self) -> float:
        """Changes per second achieved."""
        return self.changes / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.by_kind.most_common())
        errors = f", {self.errors} errors" if self.errors else ""
        return (
            f"{self.changes} changes in {self.seconds:.1f} s ({self.rate:.1f}/s){errors}"
            f"{': ' + kinds if kinds else ''}"
        )


def run(
    db: Any,
    *,
    rate: float,
    duration: float | None = None,
    seed: int | None = None,
    stop: threading.Event | None = None,
    tz: dt.tzinfo = dt.UTC,
    report: Callable[[Tally], None] | None = None,
    report_every: float = 10.0,
    events: dict[str, tuple[Event, float]] = EVENTS,
    clock: Callable[[], float] = time.monotonic,
) -> Tally:
    """Write hospital activity into `db` at `rate` changes per second.

    Runs for `duration` seconds, or until `stop` is set. Calls `report` with
    the last stretch every `report_every` seconds and returns the whole run.
    The run opens with one event of each kind, in random order, so that even
    a short run exercises every kind of write (insert, update, replace, delete).
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    rng = random.Random(seed)
    stop = stop or threading.Event()
    kinds = list(events)
    weights = [weight for _, weight in events.values()]
    opening = kinds[:]
    rng.shuffle(opening)
    start = clock()
    deadline = start + duration if duration is not None else float("inf")
    total, stretch = Tally(), Tally()
    stretch_start = start
    due = start  # when the next change is due
    while not stop.is_set():
        now = clock()
        if now >= deadline:
            break
        if now - stretch_start >= report_every:
            stretch.seconds = now - stretch_start
            if report is not None:
                report(stretch)
            stretch, stretch_start = Tally(), now
        if now < due:
            stop.wait(min(due, deadline, stretch_start + report_every) - now)
            continue
        kind = opening.pop() if opening else rng.choices(kinds, weights)[0]
        try:
            changes = events[kind][0](db, rng, dt.datetime.now(tz))
        except PyMongoError as exc:
            logger.warning("simulator: %s failed: %s", kind, exc)
            for tally in (total, stretch):
                tally.errors += 1
            stop.wait(ERROR_PAUSE)
            due = clock()
            continue
        for tally in (total, stretch):
            tally.events += 1
            if changes:
                tally.by_kind[kind] += changes
        due = max(due + changes / rate, clock() - MAX_BACKLOG)
    total.seconds = clock() - start
    return total
