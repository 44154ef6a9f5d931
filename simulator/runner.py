"""The loop: the hospital's events when its day says they are due, and routine record keeping
between them, at a steady number of changes per second, until told to stop.

The hospital's events (`simulator.day`) follow hospital time alone, so the
rate never makes the hospital busier; every change they write counts
towards the rate, and routine record keeping fills the rest. Its schedule is
absolute (change n is due at start + n / rate on a monotonic clock), so the
rate does not drift with the time each write takes. When writes are slower
than the rate the loop runs flat out and the summary shows the rate
achieved; it never builds up more than a second of backlog, so a pause is
not followed by a burst. When the rate is below the hospital's own pace,
the hospital's events still happen when due.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import PyMongoError

from .activity import HOSPITAL_EVENTS, ROUTINE, Event
from .clock import Clock, RealClock
from .day import RATES, DayPlan

logger = logging.getLogger("simulator")

MAX_BACKLOG = 1.0  # seconds of changes the loop may catch up on
ERROR_PAUSE = 1.0  # seconds to wait after a failed write (the store may be restarting)
TICK = 1.0  # seconds of hospital time between two looks at the day plan


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
    pace: float = 1.0,
    duration: float | None = None,
    seed: int | None = None,
    stop: threading.Event | None = None,
    tz: dt.tzinfo = dt.UTC,
    report: Callable[[Tally], None] | None = None,
    report_every: float = 10.0,
    routine: dict[str, tuple[Event, float]] = ROUTINE,
    hospital: dict[str, Event] = HOSPITAL_EVENTS,
    rates: dict[str, Callable] | None = None,
    clocked: dict[str, float] | None = None,
    clock: Clock | None = None,
    tick: float = TICK,
) -> Tally:
    """Write hospital activity into `db` at `rate` changes per second, the hospital `pace` times
    as busy as its day says (`simulator.day`).

    Runs for `duration` seconds, or until `stop` is set. Calls `report` with
    the last stretch every `report_every` seconds and returns the whole run.
    The run opens with one event of each kind, in random order, so that even
    a short run exercises every kind of write (insert, update, replace, delete).
    `hospital` (the events by name), `rates` and `clocked` replace the day
    plan's (empty: routine only), and `clock` the real clock (a
    `SimulatedClock` runs a day in seconds).
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    rng = random.Random(seed)
    # The hospital draws from its own generator: the same seed gives the same day at any rate.
    plan = DayPlan(
        db,
        random.Random(rng.random()),
        rates=RATES if rates is None else rates,
        clocked=clocked,
        pace=pace,
    )
    writer = _Writer(db, rng, plan, routine, hospital, clock or RealClock(), tz)
    return writer.run(
        rate,
        duration=duration,
        stop=stop or threading.Event(),
        report=report,
        report_every=report_every,
        tick=tick,
    )


class _Writer:
    """One run's state: its generators, clock and tallies, and the events it writes."""

    def __init__(
        self,
        db: Any,
        rng: random.Random,
        plan: DayPlan,
        routine: dict[str, tuple[Event, float]],
        hospital: dict[str, Event],
        clock: Clock,
        tz: dt.tzinfo,
    ) -> None:
        self.db, self.rng, self.plan, self.clock, self.tz = db, rng, plan, clock, tz
        self.routine, self.hospital = routine, hospital
        self.total, self.stretch = Tally(), Tally()
        self.stop = threading.Event()

    def attempt(self, kind: str) -> int:
        """One event, counted; a failed write is logged and waited out."""
        routine = kind in self.routine
        event = self.routine[kind][0] if routine else self.hospital[kind]
        try:
            changes = event(
                self.db, self.rng if routine else self.plan.rng, self.clock.now(self.tz)
            )
        except PyMongoError as exc:
            logger.warning("simulator: %s failed: %s", kind, exc)
            for tally in (self.total, self.stretch):
                tally.errors += 1
            self.clock.wait(ERROR_PAUSE, self.stop)
            return 0
        for tally in (self.total, self.stretch):
            tally.events += 1
            if changes:
                tally.by_kind[kind] += changes
        if not routine:
            self.plan.record(kind, changes)
        return changes

    def run(
        self,
        rate: float,
        *,
        duration: float | None,
        stop: threading.Event,
        report: Callable[[Tally], None] | None,
        report_every: float,
        tick: float,
    ) -> Tally:
        clock, rng, plan = self.clock, self.rng, self.plan
        self.stop = stop
        kinds = list(self.routine)
        weights = [weight for _, weight in self.routine.values()]
        opening = [*plan.kinds, *kinds]
        rng.shuffle(opening)
        start = clock.monotonic()
        deadline = start + duration if duration is not None else float("inf")
        stretch_start = next_tick = due = start  # due: when the next routine change is
        while not stop.is_set():
            now = clock.monotonic()
            if now >= deadline:
                break
            if now - stretch_start >= report_every:
                self.stretch.seconds = now - stretch_start
                if report is not None:
                    report(self.stretch)
                self.stretch, stretch_start = Tally(), now
            if opening or now >= next_tick:
                kinds_due = [opening.pop()] if opening else plan.due(clock.now(self.tz))
                if not opening:
                    next_tick = max(next_tick + tick, now)
                for kind in kinds_due:
                    changes = self.attempt(kind)
                    due = max(due + changes / rate, clock.monotonic() - MAX_BACKLOG)
                continue
            if now < due or not kinds:
                wake = min(due if kinds else next_tick, next_tick, deadline)
                clock.wait(min(wake, stretch_start + report_every) - now, stop)
                continue
            changes = self.attempt(rng.choices(kinds, weights)[0])
            due = max(due + changes / rate, clock.monotonic() - MAX_BACKLOG)
        self.total.seconds = clock.monotonic() - start
        return self.total
