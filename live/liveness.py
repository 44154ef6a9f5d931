"""Is a listener active? Its heartbeat, as each server process sees it.

The active listener notes the time of each read of its change stream (a
change, or an idle poll that found none) in `local`. With Redis its lease
renewals publish that time every few seconds (live/stream/lease.py), and every
server process reads it from there; without Redis the listener runs in the
server process and the fact is local. A server counts the listener down when
the newest heartbeat it knows of is older than DASHBOARD_LISTENER_STALE_SECONDS
(15 s), or, when it never saw one, once it has been watching that long.
The dependency monitor (live/sockets/monitor.py) observes every few seconds, which
drives `connection_status` (`listener_down`); `/health/` reports the same view.
"""

from __future__ import annotations

import json
import time

from django.conf import settings

from runtime import telemetry
from runtime.dependencies import redis_configured


def heartbeat_key() -> str:
    """Where the active listener publishes its heartbeat (live/stream/lease.py renews it)."""
    return f"{settings.DASHBOARD_CHANNEL_PREFIX}:listener:heartbeat"


class LocalHeartbeat:
    """The time (epoch seconds) of the last stream read of a listener in this process."""

    def __init__(self) -> None:
        self.read_at: float | None = None

    def heard(self, at: float) -> None:
        if at and (self.read_at is None or at > self.read_at):
            self.read_at = at


local = LocalHeartbeat()


async def published_read_at(client) -> float | None:
    """The heartbeat the active listener last published in Redis (None: none there)."""
    raw = await client.get(heartbeat_key())
    if raw is None:
        return None
    try:
        return float(json.loads(raw)["readAt"])
    except (ValueError, KeyError, TypeError):
        return None


class ListenerWatch:
    """One process's view of the listener: the newest heartbeat seen, and since when it looks."""

    def __init__(self) -> None:
        self.since = time.time()
        self.read_at: float | None = None
        self.monitored = False  # a dependency monitor observes for this process

    def age(self, now: float | None = None) -> float:
        """Seconds since the newest heartbeat seen (or since watching began, if none)."""
        now = time.time() if now is None else now
        return max(0.0, now - (self.read_at if self.read_at is not None else self.since))

    @property
    def down(self) -> bool:
        return self.age() > settings.DASHBOARD_LISTENER_STALE_SECONDS

    async def observe(self, client=None) -> bool:
        """Read the heartbeat (from Redis through `client`, or this process's own); True when
        the listener counts as down. A Redis error propagates: the caller keeps its verdict."""
        seen = await published_read_at(client) if redis_configured() else local.read_at
        if seen is not None and (self.read_at is None or seen > self.read_at):
            self.read_at = seen
        telemetry.listener_heartbeat_age.set(self.age())
        return self.down

    def report(self) -> dict:
        """The `listener` check of `/health/` (raises when the listener counts as down)."""
        age = round(self.age(), 1)
        if self.down:
            raise RuntimeError(
                f"no active listener: last heartbeat {age} s ago"
                if self.read_at is not None
                else f"no listener heartbeat in {age} s"
            )
        return {"heartbeatAgeSeconds": age}


# The view of this process, kept up to date by its dependency monitor.
watch = ListenerWatch()
