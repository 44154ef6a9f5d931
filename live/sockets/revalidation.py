"""Re-reading users' access for open sockets: once per user per process, however many sockets.

Every socket re-validates its user periodically (docs/accounts.md). With
thousands of sockets, most of them held by a few accounts (a wall of screens
logged in as one user), one database read per socket per period is wasted
work; here a read is shared by every socket of that user that asks within
a short freshness window, and concurrent asks wait for the one read in flight.
"""

from __future__ import annotations

import asyncio
import random

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.policy import Access
from accounts.tokens import reload_access


def period() -> float:
    return settings.DASHBOARD_REVALIDATE_SECONDS


def first_delay() -> float:
    """Spread the first re-validation over one period, so sockets opened together don't all ask at once."""
    return random.uniform(0.5, 1.0) * period()


class AccessReloader:
    def __init__(self) -> None:
        self._recent: dict[int, tuple[float, Access]] = {}
        self._in_flight: dict[int, asyncio.Task] = {}

    def freshness(self) -> float:
        # Well under the period: a change is still seen within period + freshness.
        return min(5.0, period() / 2)

    async def reload(self, user_id: int, fresh: bool = False) -> Access:
        """The user's access, read at most freshness() ago; `fresh`: a read that starts now
        (the access is known to have changed)."""
        loop = asyncio.get_running_loop()
        recent = self._recent.get(user_id)
        if not fresh and recent is not None and loop.time() - recent[0] < self.freshness():
            return recent[1]
        read = self._in_flight.get(user_id)
        if fresh or read is None or read.get_loop() is not loop:
            # One read, owned by no socket: closing the socket that asked first cancels only
            # its own wait, never the read the others are waiting on.
            read = loop.create_task(self._read(user_id))
            self._in_flight[user_id] = read
            read.add_done_callback(lambda done: self._settle(user_id, done))
        return await asyncio.shield(read)

    async def _read(self, user_id: int) -> Access:
        access = await database_sync_to_async(reload_access)(user_id)
        now = asyncio.get_running_loop().time()
        self._forget_old(now)
        self._recent[user_id] = (now, access)
        return access

    def _settle(self, user_id: int, read: asyncio.Task) -> None:
        if self._in_flight.get(user_id) is read:
            del self._in_flight[user_id]
        if not read.cancelled():
            read.exception()  # retrieved here: waiters that went away need not see it

    def _forget_old(self, now: float) -> None:
        if len(self._recent) > 1024:
            horizon = now - self.freshness()
            self._recent = {key: item for key, item in self._recent.items() if item[0] >= horizon}


access_reloader = AccessReloader()
