"""One active listener across instances: a lease in Redis (acquire with expiry, renew, release)."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings

from dashboard_project.dependencies import async_redis

from .runtime import instance_id

logger = logging.getLogger("dashboard.lease")

LEASE_TTL_SECONDS = 9.0  # a dead leader's lease expires in time for a standby to take over in 10 s

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLease:
    def __init__(self, url: str, key: str | None = None, ttl: float = LEASE_TTL_SECONDS) -> None:
        # Deployments sharing one Redis keep apart by their channel prefix.
        self.key = key or f"{settings.DASHBOARD_CHANNEL_PREFIX}:listener:lease"
        self.ttl_ms = int(ttl * 1000)
        self.owner = f"{instance_id()}:{uuid.uuid4().hex[:8]}"
        self._redis = async_redis(url)
        self.held = False

    @property
    def renew_every(self) -> float:
        return self.ttl_ms / 3000

    async def acquire(self) -> bool:
        """Take the lease if free (or already ours). Redis errors count as not acquired."""
        try:
            if await self._redis.set(self.key, self.owner, nx=True, px=self.ttl_ms):
                self.held = True
            else:
                self.held = bool(
                    await self._redis.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms)
                )
        except Exception as exc:
            logger.warning("listener lease unavailable: %s", exc)
            self.held = False
        return self.held

    async def renew(self) -> bool:
        try:
            self.held = bool(await self._redis.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms))
        except Exception as exc:
            logger.warning("listener lease could not be renewed: %s", exc)
            self.held = False
        return self.held

    async def release(self) -> None:
        try:
            await self._redis.eval(_RELEASE, 1, self.key, self.owner)
        except Exception as exc:
            logger.warning("listener lease could not be released: %s", exc)
        self.held = False

    async def holder(self) -> str | None:
        value = await self._redis.get(self.key)
        return value.decode() if value else None

    async def close(self) -> None:
        await self._redis.aclose()
