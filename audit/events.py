"""What the application calls to audit something: `record(...)`, never waiting for the database.

An entry is built (audit/entries.py: time in UTC, actor, where, outcome, ATNA
action code) and handed to the bounded queue of audit/writer.py, which writes
it later in a batch. Callers pass what they know: an actor (`actor_of(access)`
for anything shaped like accounts.policy.Access, or `Actor(...)`), and where
it came from (`from_request`, `from_scope`). Reads are tallied instead
(`count_read`), one entry per session and metric (audit/reads.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .entries import NOBODY, Actor, Where, actor_of, entry, from_request, from_scope, header
from .reads import reads
from .writer import writer

__all__ = [
    "NOBODY",
    "Actor",
    "Where",
    "actor_of",
    "count_read",
    "end_session",
    "from_request",
    "from_scope",
    "header",
    "record",
]


def record(
    event: str, outcome: str, actor: Actor = NOBODY, where: Where | None = None, **detail: Any
) -> None:
    """Audit an event: queued for the writer at once, written within moments (audit/writer.py)."""
    if settings.DASHBOARD_AUDIT_ENABLED:
        writer.submit(entry(event, outcome, actor, where, **detail))


def count_read(
    session: str, kind: str, metric: str, actor: Actor, where: Where, **extra: Any
) -> None:
    """A read of `metric` in `session` (a socket, or an access token over REST)."""
    if settings.DASHBOARD_AUDIT_ENABLED:
        reads.count(session, kind, metric, actor, where, **extra)


def end_session(session: str) -> None:
    """The session ended: its read tallies go to the writer now."""
    for content in reads.flush_session(session):
        writer.submit(content)
