"""How many historical ranges one user may have computed a minute (REST and WebSocket alike).

A range already in the cache costs nothing and is never counted; a range that
must be computed (up to 31 days of every collection) is, against the user,
however the user asks for it. The count is kept in Django's cache, shared by
every instance (scope `historical`, rate DASHBOARD_HISTORICAL_RATE).
"""

from __future__ import annotations

import math

from runtime.throttling import CacheThrottle


class HistoricalThrottle(CacheThrottle):
    """Historical computations per user (scope `historical`)."""

    scope = "historical"

    def __init__(self, user_id: int | None) -> None:
        super().__init__()
        self.user_id = user_id

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.user_id}


def historical_wait(user_id: int | None) -> int | None:
    """Count one computation for `user_id` (None: the anonymous, counted together): None if
    allowed, else whole seconds to wait."""
    throttle = HistoricalThrottle(user_id)
    if throttle.allow_request(None, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
