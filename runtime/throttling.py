"""The base class every throttle of the project shares: a rate counted in Django's cache, and in
this process while that cache (Redis) is unreachable."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("dashboard.accounts")


# Counts kept in this process while the shared cache (Redis) is unreachable: the limit then
# holds per instance instead of across them, and requests keep being served.
_local_counts = LocMemCache("throttle-fallback", {})


class CacheThrottle(SimpleRateThrottle):
    """A rate in DEFAULT_THROTTLE_RATES[scope], counted in the shared cache, locally while it is away."""

    def get_rate(self) -> str | None:
        # Read at each request rather than at import, so the settings in force apply.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope or "")
        return None if rate is None else str(rate)

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:  # the shared cache is unreachable
            logger.warning(
                "%s throttle: shared cache unavailable (%s); counting locally",
                self.scope,
                type(exc).__name__,
            )
            self.cache = _local_counts
            return super().allow_request(request, view)
