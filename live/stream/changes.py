"""What the listener reads off the change stream: which errors end it and when a change was
committed; and how long to wait before trying again. (Whether a change is urgent is its
metric's to say: metrics/definition.py.)"""

from __future__ import annotations

import calendar
import random

# Stream errors after which resuming is impossible: start afresh and resync everything.
UNRESUMABLE_CODES = {
    286,  # ChangeStreamHistoryLost
    260,  # InvalidResumeToken
    280,  # ChangeStreamFatalError
    222,  # CloseChangeStream
}


class StreamInvalidated(Exception):
    """The stream ended with an `invalidate` event (a dropped collection or database)."""


def event_time(event: dict) -> float | None:
    """The change's commit time (epoch seconds, the database's clock), or None if unknown."""
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
