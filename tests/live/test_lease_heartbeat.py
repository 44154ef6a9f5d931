"""The listener lease publishes its holder's heartbeat; servers read it (local Redis)."""

from __future__ import annotations

import json
import time

import pytest
import redis.asyncio

from live.liveness import ListenerWatch, heartbeat_key
from live.stream.lease import RedisLease

pytestmark = pytest.mark.redis


@pytest.fixture
def prefixed(settings, redis_url, unique_prefix):
    settings.REDIS_URL = redis_url
    settings.DASHBOARD_CHANNEL_PREFIX = unique_prefix
    return redis_url


async def test_only_the_holder_publishes_and_a_lost_lease_is_taken_again_if_free(prefixed):
    holder, standby = RedisLease(ttl=3.0), RedisLease(ttl=3.0)
    client = redis.asyncio.from_url(prefixed)

    async def heartbeat() -> dict:
        return json.loads(await client.get(heartbeat_key()))

    try:
        assert await holder.acquire(100.0)
        assert not await standby.acquire(200.0)
        assert await heartbeat() == {
            "owner": holder.owner,
            "instance": holder.owner.rsplit(":", 1)[0],
            "readAt": 100.0,
        }
        # A failover lost the lease (asynchronous replication): the holder takes it again.
        await client.delete(holder.key)
        assert await holder.renew(150.0)
        assert (await heartbeat())["readAt"] == 150.0
        # Lost again, and this time the standby is first: the old holder stands by.
        await client.delete(holder.key)
        assert await standby.acquire(300.0)
        assert not await holder.renew(160.0)
        assert (await heartbeat())["owner"] == standby.owner
        assert await holder.holder() == standby.owner
    finally:
        await client.delete(holder.key, heartbeat_key())
        await client.aclose()
        for lease in (holder, standby):
            await lease.close()


async def test_a_server_sees_the_listener_down_once_the_heartbeat_is_stale(prefixed, settings):
    settings.DASHBOARD_LISTENER_STALE_SECONDS = 5
    watch = ListenerWatch()
    lease = RedisLease(ttl=3.0)
    client = redis.asyncio.from_url(prefixed)
    try:
        watch.since = time.time() - 4
        assert await watch.observe(client) is False  # watching for 4 s, no heartbeat yet
        watch.since = time.time() - 6
        assert await watch.observe(client) is True
        assert await lease.acquire(time.time() - 1)
        assert await watch.observe(client) is False
        assert 0.9 < watch.age() < 5
        assert await lease.renew(time.time() - 7)  # a holder that stopped reading its stream
        assert await watch.observe(client) is False  # never older than the newest seen
        watch.read_at = None
        assert await watch.observe(client) is True
        assert "last heartbeat 7" in str(pytest.raises(RuntimeError, watch.report).value)
    finally:
        await client.delete(lease.key, heartbeat_key())
        await client.aclose()
        await lease.close()
