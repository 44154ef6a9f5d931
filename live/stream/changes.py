"""What the listener reads off the change stream: which errors end it, whether a change is
urgent, when it was committed; and how long to wait before trying again."""

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
