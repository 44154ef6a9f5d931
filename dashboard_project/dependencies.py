"""How this process reaches Redis and MongoDB: one Redis client factory, one ping for each.

Every Redis client of the project (hub probe, listener lease, instance
registry, health) comes from `async_redis`/`sync_redis`, so that they all
follow the same configuration. The health endpoint and the dependency monitor
ask the same two pings.
"""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis
from django.conf import settings


def redis_configured() -> bool:
    return bool(settings.REDIS_URL)


def _options(timeout: float | None) -> dict:
    seconds = settings.REDIS_SOCKET_TIMEOUT if timeout is None else timeout
    return {"socket_timeout": seconds, "socket_connect_timeout": seconds}


def async_redis(url: str | None = None, *, timeout: float | None = None) -> aioredis.Redis:
    """An asyncio Redis client on the configured Redis (or `url`); the caller closes it."""
    return aioredis.Redis.from_url(url or settings.REDIS_URL, **_options(timeout))


def sync_redis(url: str | None = None, *, timeout: float | None = None) -> redis.Redis:
    """A blocking Redis client on the configured Redis (or `url`); the caller closes it."""
    return redis.Redis.from_url(url or settings.REDIS_URL, **_options(timeout))


async def ping_redis(timeout: float) -> None:
    """Raise unless the configured Redis answers within `timeout` seconds."""
    client = async_redis(timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout)
    finally:
        await client.aclose()


async def ping_mongodb(timeout: float) -> None:
    """Raise unless the hospital database answers within `timeout` seconds."""
    from metrics.store import get_database

    await asyncio.wait_for(asyncio.to_thread(lambda: get_database().command("ping")), timeout)
