"""The simulator's clocks: the real one, and a simulated one a test can run through a whole day.

The loop asks a clock three things: a monotonic reading for pacing, the
hospital's current moment for the events, and to wait (until a stop is
asked for). The real clock waits; the simulated one jumps ahead instead, so a
day of hospital time passes in seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self, tz: dt.tzinfo) -> dt.datetime: ...

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to `seconds`; True when `stop` was set meanwhile."""
        ...


class RealClock:
    """Wall time, and waits that end early when the run is told to stop."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self, tz: dt.tzinfo) -> dt.datetime:
        return dt.datetime.now(tz)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(0.0, seconds))


class SimulatedClock:
    """Hospital time that starts at `start` and moves only when the loop waits (or `advance`).

    Time is kept in whole microseconds (a datetime's resolution): waiting
    until a moment lands on it exactly however the time was cut up on the
    way, and every wait moves time on by at least a microsecond.
    """

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.start = start
        self.micros = 0

    def monotonic(self) -> float:
        return self.micros / 1e6

    def now(self, tz: dt.tzinfo) -> dt.datetime:
        return (self.start + dt.timedelta(microseconds=self.micros)).astimezone(tz)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.advance(seconds)
        return stop.is_set()

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.micros += max(1, round(seconds * 1e6))
