"""Who may hold a socket: the instance's slots, fair shares, and room for those who sign in.

Every socket is counted on the instance's board (live/sockets/board.py) from the
moment it is admitted until the end of its life (the consumer releases it in a
`finally`, however the socket ends), across every worker of the instance; the
`dashboard_ws_connections_active` gauge follows each process's count exactly.

A newcomer either proves who it is in the handshake (a one-time ticket,
accounts/tickets.py) and is admitted signed in, or arrives anonymous and must
send `authenticate` within 10 s. The rules, in the order they are checked:

- **Fair shares** (close 4029): one principal (a user) holds at most
  DASHBOARD_MAX_SOCKETS_PER_USER signed-in sockets and one address at most
  DASHBOARD_MAX_SOCKETS_PER_ADDRESS; one address has at most
  DASHBOARD_MAX_WAITING_PER_ADDRESS sockets waiting to sign in. A flood from
  one address is refused at once without touching anyone else's room.
- **Room for those who sign in** (1013): sockets not signed in hold at most
  DASHBOARD_MAX_UNAUTHENTICATED slots (a tenth of the limit by default).
- **The instance's limit** (1013): DASHBOARD_MAX_CONNECTIONS for the instance,
  whatever the number of workers: 1013 means the instance is full.

When a newcomer finds no room, the oldest socket still waiting to sign in (in
this worker) gives its slot up (closed with 1013): at once for a newcomer
with a ticket, after DASHBOARD_EVICT_AFTER_SECONDS (2 s) for an anonymous one.
Sockets held open without signing in (a flood from many addresses) are thus
replaced by those who sign in, and a crowd reconnecting with tickets (every
display after a restart) is admitted on its first try.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from runtime import telemetry

from .board import Board, Counts, instance_board, worker_index
from .protocol import CLOSE_OVER_SHARE, CLOSE_TRY_AGAIN_LATER


class Evictable(Protocol):
    def evict(self) -> None: ...


@dataclass(frozen=True)
class Arrival:
    """Where a newcomer comes from and, when its handshake proved it, who it is."""

    address: str
    principal: str | None = None


def principal_of(user_id: int | None) -> str:
    """The name a signed-in socket's fair share is counted under."""
    return f"user:{user_id}"


def unauthenticated_limit() -> int:
    limit = settings.DASHBOARD_MAX_UNAUTHENTICATED
    if limit is None:
        limit = settings.DASHBOARD_MAX_CONNECTIONS // 10
    return max(1, min(limit, settings.DASHBOARD_MAX_CONNECTIONS))


def over_share(counts: Counts, arrival: Arrival) -> str | None:
    """Which fair share the newcomer would exceed (the telemetry reason), if any."""
    if arrival.principal is not None:
        if counts.of_principal >= settings.DASHBOARD_MAX_SOCKETS_PER_USER:
            return "user_share"
        if counts.of_address >= settings.DASHBOARD_MAX_SOCKETS_PER_ADDRESS:
            return "address_share"
        return None
    if counts.waiting_of_address >= settings.DASHBOARD_MAX_WAITING_PER_ADDRESS:
        return "address_waiting_share"
    return None


class Admission:
    """This process's sockets on the instance's board (used from its event loop only)."""

    def __init__(self, board: Board | None = None) -> None:
        self._board = board
        self._ids = itertools.count(1)
        self._holders: dict[Evictable, int] = {}
        # Sockets of this process not signed in yet, oldest first, with when they arrived.
        self._waiting: OrderedDict[Evictable, float] = OrderedDict()
        self._signed_in: dict[Evictable, str] = {}

    @property
    def board(self) -> Board:
        if self._board is None:
            self._board = instance_board()
        return self._board

    @property
    def active(self) -> int:
        return len(self._holders)

    @property
    def unauthenticated(self) -> int:
        return len(self._waiting)

    def admit(self, socket: Evictable, arrival: Arrival) -> int | None:
        """Give `socket` a slot; None when admitted, else the close code that refuses it."""
        evicted = None
        socket_id = next(self._ids)
        with self.board.transaction() as board:
            counts = board.counts(arrival.principal, arrival.address)
            reason = over_share(counts, arrival)
            if reason is not None:
                telemetry.connections_failed.labels(reason=reason).inc()
                return CLOSE_OVER_SHARE
            full = counts.total >= settings.DASHBOARD_MAX_CONNECTIONS
            crowded = arrival.principal is None and counts.waiting >= unauthenticated_limit()
            if full or crowded:
                evicted = self._oldest_waiting(at_once=arrival.principal is not None)
                if evicted is None:
                    reason = "capacity" if full else "unauthenticated_capacity"
                    telemetry.connections_failed.labels(reason=reason).inc()
                    return CLOSE_TRY_AGAIN_LATER
                board.remove(worker_index(), self._holders[evicted])
            board.add(worker_index(), socket_id, arrival.principal, arrival.address)
        if evicted is not None:
            self._forget(evicted)
            telemetry.connections_failed.labels(reason="evicted_unauthenticated").inc()
            evicted.evict()
        self._holders[socket] = socket_id
        if arrival.principal is None:
            self._waiting[socket] = time.monotonic()
        else:
            self._signed_in[socket] = arrival.principal
        telemetry.connections_active.inc()
        return None

    def signed_in(self, socket: Evictable, arrival: Arrival) -> int | None:
        """`socket` authenticated as `arrival.principal`: None, or the close code of a fair
        share it would exceed. It no longer counts against the room for the unauthenticated."""
        socket_id = self._holders.get(socket)
        if socket_id is None or self._signed_in.get(socket) == arrival.principal:
            return None  # not admitted here, or the same principal renewing its token
        assert arrival.principal is not None
        with self.board.transaction() as board:
            reason = over_share(board.counts(arrival.principal, arrival.address), arrival)
            if reason is not None:
                telemetry.connections_failed.labels(reason=reason).inc()
                return CLOSE_OVER_SHARE
            board.sign_in(worker_index(), socket_id, arrival.principal)
        self._waiting.pop(socket, None)
        self._signed_in[socket] = arrival.principal
        return None

    def release(self, socket: Evictable) -> None:
        """`socket` ended (or was evicted); a second release is harmless."""
        socket_id = self._holders.get(socket)
        if socket_id is None:
            return
        self._forget(socket)
        self.board.remove(worker_index(), socket_id)

    def _forget(self, socket: Evictable) -> None:
        self._holders.pop(socket, None)
        self._waiting.pop(socket, None)
        self._signed_in.pop(socket, None)
        telemetry.connections_active.dec()

    def _oldest_waiting(self, *, at_once: bool) -> Evictable | None:
        """The oldest socket of this process waiting to sign in, if it may give its slot up."""
        if not self._waiting:
            return None
        oldest, arrived = next(iter(self._waiting.items()))
        if not at_once and time.monotonic() - arrived < settings.DASHBOARD_EVICT_AFTER_SECONDS:
            return None
        return oldest

    def reset(self) -> None:
        """Forget every socket of this process (tests, between event loops)."""
        for socket in list(self._holders):
            self.release(socket)


admission = Admission()
