"""One active listener across instances: a lease in Redis, and the heartbeat of its holder.

The holder renews the lease every third of its TTL and, in the same script,
publishes its heartbeat: the time of its last read of the change stream
(live/liveness.py reads it in every server process). Each lease call is
bounded by the renewal interval, and a listener that fails one renewal stands
by: it stops leading well before the lease it last renewed could expire and
another listener take it.

Through a Redis failover (Sentinel promotes a replica; replication is
asynchronous) the lease key can be lost. The holder's next renewal then takes
it again if it is free, so leadership does not move needlessly; if a standby
took it first, the holder's renewal fails and it stands by. Either way one
listener leads again within one renewal interval. While two overlap, both
follow the same stream from the same checkpoint: every broadcast value is a
complete metric whose version (the database position of the state it was
built from) no socket accepts older than one it has, and a leader confirms
its lease before it moves the checkpoint (live/stream/listener.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from django.conf import settings

from runtime.dependencies import async_redis

from ..instance import instance_id
from ..liveness import heartbeat_key

logger = logging.getLogger("dashboard.lease")

LEASE_TTL_SECONDS = 9.0  # a dead leader's lease expires in time for a standby to take over in 10 s
# The heartbeat outlives its lease so that its age stays known after a listener dies.
HEARTBEAT_KEEP_SECONDS = 86_400

# KEYS: lease, heartbeat. ARGV: owner, TTL (ms), heartbeat JSON, heartbeat expiry (s).
_HOLD = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
    redis.call('pexpire', KEYS[1], ARGV[2])
elseif holder == false then
    redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
    return 0
end
redis.call('set', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLease:
    def __init__(
        self, url: str | None = None, key: str | None = None, ttl: float = LEASE_TTL_SECONDS
    ) -> None:
        # Deployments sharing one Redis keep apart by their channel prefix.
        self.key = key or f"{settings.DASHBOARD_CHANNEL_PREFIX}:listener:lease"
        self.heartbeat_key = heartbeat_key() if key is None else f"{key}:heartbeat"
        self.ttl_ms = int(ttl * 1000)
        self.owner = f"{instance_id()}:{uuid.uuid4().hex[:8]}"
        self._redis = async_redis(url)
        self.held = False

    @property
    def renew_every(self) -> float:
        return self.ttl_ms / 3000

    async def _hold(self, read_at: float) -> bool:
        heartbeat = json.dumps({"owner": self.owner, "instance": instance_id(), "readAt": read_at})
        keys_and_args = (self.key, self.heartbeat_key, self.owner, self.ttl_ms, heartbeat)
        held = await asyncio.wait_for(
            self._redis.eval(_HOLD, 2, *keys_and_args, HEARTBEAT_KEEP_SECONDS),
            self.renew_every,
        )
        return bool(held)

    async def acquire(self, read_at: float) -> bool:
        """Take the lease if free (or already ours) and publish the heartbeat `read_at` (epoch
        seconds of the last stream read). Redis errors count as not acquired."""
        try:
            self.held = await self._hold(read_at)
        except Exception as exc:
            logger.warning("listener lease unavailable: %s", _describe(exc))
            self.held = False
        return self.held

    async def renew(self, read_at: float) -> bool:
        """Keep the lease (taking it again if a failover lost it and it is free) and publish
        the heartbeat; False when another holds it or Redis did not answer in time. A leader
        also renews before it moves the checkpoint, so that only the holder moves it."""
        try:
            self.held = await self._hold(read_at)
        except Exception as exc:
            logger.warning("listener lease could not be renewed: %s", _describe(exc))
            self.held = False
        return self.held

    async def release(self) -> None:
        try:
            await asyncio.wait_for(
                self._redis.eval(_RELEASE, 1, self.key, self.owner), self.renew_every
            )
        except Exception as exc:
            logger.warning("listener lease could not be released: %s", _describe(exc))
        self.held = False

    async def holder(self) -> str | None:
        value = await self._redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    async def close(self) -> None:
        await self._redis.aclose()


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
