"""Who may hold a socket: DASHBOARD_MAX_CONNECTIONS per process, few of them not yet signed in.

A socket is counted from the moment it is admitted until the end of its life
(the consumer releases it in a `finally`, however the socket ends), and the
`dashboard_ws_connections_active` gauge follows the count exactly.

Sockets that have not authenticated yet hold at most DASHBOARD_MAX_UNAUTHENTICATED
of the slots (10 % by default). When that share is full, or every slot is
taken, a newcomer evicts the oldest socket still waiting to sign in (closed
with 1013) rather than being refused: an anonymous flood can then never lock
signed-in users, or a user about to sign in, out of the server. Only when every
slot belongs to a signed-in user is the newcomer refused (1013).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from django.conf import settings

from dashboard_project import telemetry


class Evictable(Protocol):
    def evict(self) -> None: ...


def unauthenticated_limit() -> int:
    limit = settings.DASHBOARD_MAX_UNAUTHENTICATED
    if limit is None:
        limit = settings.DASHBOARD_MAX_CONNECTIONS // 10
    return max(1, min(limit, settings.DASHBOARD_MAX_CONNECTIONS))


class Admission:
    """The slots of one server process (used from its event loop only)."""

    def __init__(self) -> None:
        self._holders: set[Evictable] = set()
        # Sockets not signed in yet, oldest first.
        self._waiting: OrderedDict[Evictable, None] = OrderedDict()

    @property
    def active(self) -> int:
        return len(self._holders)

    @property
    def unauthenticated(self) -> int:
        return len(self._waiting)

    def admit(self, socket: Evictable) -> bool:
        """Give `socket` a slot (evicting the oldest waiting socket if need be); False: refused."""
        full = len(self._holders) >= settings.DASHBOARD_MAX_CONNECTIONS
        if len(self._waiting) >= unauthenticated_limit() or (full and self._waiting):
            self._evict_oldest_waiting()
        elif full:
            telemetry.connections_failed.labels(reason="capacity").inc()
            return False
        self._holders.add(socket)
        self._waiting[socket] = None
        telemetry.connections_active.inc()
        return True

    def signed_in(self, socket: Evictable) -> None:
        """`socket` authenticated: it no longer counts against the unauthenticated share."""
        self._waiting.pop(socket, None)

    def release(self, socket: Evictable) -> None:
        """`socket` ended (or was evicted); a second release is harmless."""
        self._waiting.pop(socket, None)
        if socket in self._holders:
            self._holders.discard(socket)
            telemetry.connections_active.dec()

    def _evict_oldest_waiting(self) -> None:
        oldest, _ = self._waiting.popitem(last=False)
        self.release(oldest)
        telemetry.connections_failed.labels(reason="evicted_unauthenticated").inc()
        oldest.evict()

    def reset(self) -> None:
        """Forget every socket (tests, between event loops)."""
        telemetry.connections_active.dec(len(self._holders))
        self._holders.clear()
        self._waiting.clear()


admission = Admission()
