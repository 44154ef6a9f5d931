"""What the sockets put on the audit trail (audit/events.py): sessions opened and closed, refused
handshakes and sign-ins, reads tallied per session and metric, acknowledgements.

Each call only queues an entry or bumps a tally; the database is written by
the audit writer's thread (audit/writer.py), never on the socket's path.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from audit.events import NOBODY, actor_of, count_read, end_session, from_scope, header, record


def _where(socket: Any):
    where = getattr(socket, "audit_where", None)
    if where is None:
        where = socket.audit_where = from_scope(socket.scope)
    return where


def handshake_refused(scope: dict, reason: str) -> None:
    """A handshake refused at the door: a Host or an Origin not allowed (HTTP 403)."""
    record(
        "session_refused",
        "refused",
        NOBODY,
        from_scope(scope),
        reason=reason,
        origin=header(scope, b"origin")[:256],
        host=header(scope, b"host")[:256],
    )


def admission_refused(socket: Any, code: int, access: Any = None) -> None:
    """No slot, or over a fair share: the socket is closed with `code`."""
    record(
        "session_refused",
        "refused",
        actor_of(access),
        _where(socket),
        reason="admission",
        closeCode=code,
        origin=header(socket.scope, b"origin")[:256],
    )


def signin_failed(socket: Any, reason: str | None) -> None:
    record("signin", "failure", NOBODY, _where(socket), reason=reason or "invalid_token")


def signed_in(socket: Any) -> None:
    """The first sign-in opens the audited session; a later one (a renewed token) is a sign-in."""
    if getattr(socket, "audit_session", None) is None:
        socket.audit_session = uuid.uuid4().hex[:16]
        socket.audit_opened = time.monotonic()
        event = "session_opened"
    else:
        event = "signin"
    record(
        event,
        "success",
        actor_of(socket.access),
        _where(socket),
        session=socket.audit_session,
        origin=header(socket.scope, b"origin")[:256],
    )


def closed(socket: Any, code: int | None) -> None:
    """The session ends (whoever closed it): its duration, close code, and its read tallies."""
    session = getattr(socket, "audit_session", None)
    if session is None:
        return
    socket.audit_session = None
    record(
        "session_closed",
        "success",
        actor_of(socket.access),
        _where(socket),
        session=session,
        closeCode=code,
        durationSeconds=round(time.monotonic() - socket.audit_opened, 3),
    )
    end_session(session)


def read(socket: Any, kind: str, metrics: list[str], **extra: Any) -> None:
    session = getattr(socket, "audit_session", None)
    if session is None:
        return
    actor, where = actor_of(socket.access), _where(socket)
    for metric in metrics:
        count_read(session, kind, metric, actor, where, **extra)


def read_refused(socket: Any, kind: str, metrics: list[str], reason: str) -> None:
    record(
        "read_refused",
        "refused",
        actor_of(socket.access),
        _where(socket),
        session=getattr(socket, "audit_session", None),
        kind=kind,
        metrics=metrics,
        reason=reason,
    )


def acknowledgement(socket: Any, alert_id: Any, outcome: str, **detail: Any) -> None:
    record(
        "acknowledgement",
        outcome,
        actor_of(socket.access),
        _where(socket),
        session=getattr(socket, "audit_session", None),
        alertId=str(alert_id)[:64],
        **detail,
    )
