"""Reads, tallied: one entry per session and metric (first time, last time, count), not one per
request or frame.

A session is a socket (from sign-in to close) or, over REST, an access token.
`count()` is all a read costs on the request's path: a dictionary update under
a lock. A socket's tallies become entries when it closes (`flush_session`);
every tally still open becomes one every DASHBOARD_AUDIT_READ_FLUSH_SECONDS
(the writer's thread calls `flush_all`), and counting starts again.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

from .entries import Actor, Where, entry


@dataclass
class Tally:
    actor: Actor
    where: Where
    scope: str
    first: dt.datetime
    last: dt.datetime
    count: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class ReadTallies:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, dict[tuple[str, str], Tally]] = {}

    def count(
        self, session: str, kind: str, metric: str, actor: Actor, where: Where, **extra: Any
    ) -> None:
        """A read of `metric` (a subscription, a snapshot, a historical range) in `session`."""
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            tallies = self._sessions.setdefault(session, {})
            tally = tallies.get((kind, metric))
            if tally is None:
                tallies[(kind, metric)] = Tally(actor, where, actor.departments, now, now, 1, extra)
            else:
                tally.count += 1
                tally.last = now

    def flush_session(self, session: str) -> list[dict[str, Any]]:
        """The session ended: its tallies as entries."""
        with self._lock:
            tallies = self._sessions.pop(session, None)
        return _entries(session, tallies) if tallies else []

    def flush_all(self) -> list[dict[str, Any]]:
        """Every open tally as an entry (counting starts again)."""
        with self._lock:
            sessions, self._sessions = self._sessions, {}
        return [
            content
            for session, tallies in sessions.items()
            for content in _entries(session, tallies)
        ]

    def discard(self) -> None:
        with self._lock:
            self._sessions = {}


def _entries(session: str, tallies: dict[tuple[str, str], Tally]) -> list[dict[str, Any]]:
    return [
        entry(
            "read",
            "success",
            tally.actor,
            tally.where,
            time=tally.first,
            kind=kind,
            metric=metric,
            session=session,
            count=tally.count,
            first=_iso(tally.first),
            last=_iso(tally.last),
            **tally.extra,
        )
        for (kind, metric), tally in tallies.items()
    ]


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


reads = ReadTallies()
