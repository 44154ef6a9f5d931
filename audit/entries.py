"""An audit entry's content: the events and their ATNA action codes, who (Actor), where from
(Where: address, user agent, door), and `entry()`, which puts them together with the time (UTC)
and the outcome. The event names are listed in docs/audit.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .models import Action, Outcome

MAX_TEXT = 256
MAX_AGENT = 512

# Every event this application records, and its ATNA action code.
EVENTS: dict[str, str] = {
    "signin": Action.EXECUTE,
    "token_refresh": Action.EXECUTE,
    "signout": Action.EXECUTE,
    "session_opened": Action.EXECUTE,
    "session_closed": Action.EXECUTE,
    "session_refused": Action.EXECUTE,
    "read": Action.READ,
    "read_refused": Action.READ,
    "acknowledgement": Action.CREATE,
    "user_created": Action.CREATE,
    "user_updated": Action.UPDATE,
    "user_deleted": Action.DELETE,
    "audit_purged": Action.DELETE,
}


@dataclass(frozen=True)
class Actor:
    """Who acted: a user (id, username, level, departments), or the username tried."""

    user_id: int | None = None
    username: str = ""
    level: str = ""
    departments: str = ""


@dataclass(frozen=True)
class Where:
    """Where from: the client address (after DASHBOARD_TRUSTED_PROXIES), its user agent, and the
    door (api, socket, admin, command)."""

    address: str = ""
    user_agent: str = ""
    channel: str = ""


NOBODY = Actor()


def actor_of(access: Any) -> Actor:
    """An Actor from accounts.policy.Access (or anything shaped like it): its departments are the
    scope it is served at that moment, `*` for all."""
    if access is None:
        return NOBODY
    # A wall display (accounts.models.DisplayDevice) is its own kind of principal: its level on
    # the trail is `display`, whatever view it is given.
    display = getattr(access, "kind", "user") == "display"
    return Actor(
        user_id=getattr(access, "user_id", None),
        username=str(getattr(access, "username", "") or "")[:MAX_TEXT],
        level="display" if display else str(getattr(access, "level", "") or ""),
        departments=scope_text(access),
    )


def scope_text(access: Any) -> str:
    scope = getattr(access, "scope", None)
    listed = scope.as_list() if scope is not None else None
    if scope is not None and listed is None:
        return "*"
    codes = listed if listed is not None else sorted(getattr(access, "departments", ()) or ())
    return ",".join(codes)


def from_request(request: Any, channel: str = "api") -> Where:
    """Where an HTTP request came from: REMOTE_ADDR, which the server set from a trusted proxy's
    X-Forwarded-For (DASHBOARD_TRUSTED_PROXIES), never a header a client wrote itself."""
    meta = getattr(request, "META", {}) or {}
    return Where(
        address=str(meta.get("REMOTE_ADDR") or "")[:64],
        user_agent=str(meta.get("HTTP_USER_AGENT") or "")[:MAX_AGENT],
        channel=channel,
    )


def header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


def from_scope(scope: dict) -> Where:
    """Where a socket came from: the ASGI client (from a trusted proxy's header when configured)."""
    client = scope.get("client")
    return Where(
        address=str(client[0])[:64] if client else "",
        user_agent=header(scope, b"user-agent")[:MAX_AGENT],
        channel="socket",
    )


def entry(
    event: str,
    outcome: str,
    actor: Actor = NOBODY,
    where: Where | None = None,
    *,
    time: dt.datetime | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """An entry's content, as the chain hashes it (audit/chain.py)."""
    where = where or Where()
    return {
        "time": time or dt.datetime.now(dt.UTC),
        "event": event,
        "action": str(EVENTS[event]),
        "outcome": str(Outcome(outcome)),
        "user_id": actor.user_id,
        "username": actor.username[:MAX_TEXT],
        "level": actor.level,
        "departments": actor.departments[:512],
        "address": where.address,
        "user_agent": where.user_agent,
        "channel": where.channel,
        "detail": {key: value for key, value in detail.items() if value is not None},
    }
