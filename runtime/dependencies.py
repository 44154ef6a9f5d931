"""How this process reaches Redis: one client factory, and its ping.

Every Redis client of the project (hub probe, listener lease, instance
registry, health, the cache's pattern delete) comes from `async_redis`/
`sync_redis`, so that they all follow the same configuration: one server
(`REDIS_URL`), or the primary that Redis Sentinel names (`REDIS_SENTINELS`,
`REDIS_SENTINEL_MASTER`). A Sentinel client asks the sentinels where the
primary is each time it connects, so it follows a failover by itself; the
Django cache does the same through `SentinelCachePool`. The health endpoint
and the dependency monitor ask the same pings (MongoDB's is metrics.store.ping_mongodb,
beside the client it asks).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
import redis.sentinel
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .redis_settings import SENTINEL_SCHEME, parse_sentinels, sentinel_kwargs


def redis_configured() -> bool:
    """Whether this deployment has Redis (one server or through Sentinel)."""
    return bool(settings.REDIS_URL or settings.REDIS_SENTINELS)


def _sentinels() -> list[tuple[str, int]]:
    return parse_sentinels(list(settings.REDIS_SENTINELS))


def _through_sentinel(url: str | None) -> bool:
    """The configured Redis is reached through Sentinel, or `url` names a Sentinel primary
    (`redis-sentinel://<master>/<db>`, the Django cache's LOCATION with Sentinel)."""
    return (url is None and bool(settings.REDIS_SENTINELS)) or bool(
        url and url.startswith(SENTINEL_SCHEME + "://")
    )


def _primary(url: str | None) -> tuple[str, int]:
    """The primary's name and database, from `url` or the settings."""
    if url is None:
        # settings.check_choice refuses Sentinel without REDIS_SENTINEL_MASTER.
        return settings.REDIS_SENTINEL_MASTER or "", settings.REDIS_DB
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.unquote(parts.netloc), int(parts.path.strip("/") or 0)


def _url(url: str | None) -> str:
    configured = url or settings.REDIS_URL
    if not configured:
        raise ImproperlyConfigured("REDIS_URL (or REDIS_SENTINELS) is not set: this needs Redis")
    return configured


def _options(timeout: float | None) -> dict:
    seconds = settings.REDIS_SOCKET_TIMEOUT if timeout is None else timeout
    return {"socket_timeout": seconds, "socket_connect_timeout": seconds}


def _primary_options(timeout: float | None, db: int) -> dict:
    """Connection options for the Sentinel-named primary."""
    options = {**_options(timeout), "db": db}
    if settings.REDIS_PASSWORD:
        options["password"] = settings.REDIS_PASSWORD
    return options


def _sentinel_options(timeout: float | None) -> dict:
    seconds = settings.REDIS_SOCKET_TIMEOUT if timeout is None else timeout
    return sentinel_kwargs(settings.REDIS_SENTINEL_PASSWORD, seconds)


class _AsyncPrimary(aioredis.Redis):
    """A client on the Sentinel-named primary that also closes its connections to the sentinels."""

    owned_sentinel: aiosentinel.Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            if self.owned_sentinel is not None:
                await self.owned_sentinel.aclose()


class _SyncPrimary(redis.Redis):
    """The blocking twin of `_AsyncPrimary`."""

    owned_sentinel: redis.sentinel.Sentinel | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.owned_sentinel is not None:
                self.owned_sentinel.close()


def _connect(url: str | None, timeout: float | None, flavour: tuple[Any, Any, Any]) -> Any:
    """A client of one flavour (asyncio or blocking): (Redis class, Sentinel class, primary
    class). Through Sentinel, the client follows the primary and closes its sentinels with it."""
    plain, sentinel_class, primary_class = flavour
    if not _through_sentinel(url):
        return plain.from_url(_url(url), **_options(timeout))
    master, db = _primary(url)
    sentinel = sentinel_class(
        _sentinels(), sentinel_kwargs=_sentinel_options(timeout), **_options(timeout)
    )
    client = sentinel.master_for(master, redis_class=primary_class, **_primary_options(timeout, db))
    client.owned_sentinel = sentinel
    return client


_ASYNC = (aioredis.Redis, aiosentinel.Sentinel, _AsyncPrimary)
_BLOCKING = (redis.Redis, redis.sentinel.Sentinel, _SyncPrimary)


def async_redis(url: str | None = None, *, timeout: float | None = None) -> aioredis.Redis:
    """An asyncio Redis client on the configured Redis (or `url`); the caller closes it."""
    return _connect(url, timeout, _ASYNC)


def sync_redis(url: str | None = None, *, timeout: float | None = None) -> redis.Redis:
    """A blocking Redis client on the configured Redis (or `url`); the caller closes it."""
    return _connect(url, timeout, _BLOCKING)


class SentinelCachePool(redis.sentinel.SentinelConnectionPool):
    """The Django cache's connection pool on the Sentinel-named primary.

    Django's RedisCache makes its pool with `pool_class.from_url(LOCATION, **OPTIONS)`:
    LOCATION is `redis-sentinel://<master>/<db>` (runtime/redis_settings.py),
    the sentinels come from the settings. Each new connection asks them for the primary.
    """

    @classmethod
    def from_url(cls, url: str, **options) -> SentinelCachePool:
        master, db = _primary(url)
        timeout = options.get("socket_timeout")
        manager = redis.sentinel.Sentinel(_sentinels(), sentinel_kwargs=_sentinel_options(timeout))
        return cls(master, manager, db=db, **options)


async def redis_identity(client: aioredis.Redis, timeout: float) -> str:
    """The run id of the Redis server that answers `client` now (a restart or a failover
    changes it); raises unless it answers within `timeout` seconds."""
    info = await asyncio.wait_for(client.info("server"), timeout)
    return str(info.get("run_id", ""))


async def ping_redis(timeout: float) -> None:
    """Raise unless the configured Redis answers within `timeout` seconds."""
    client = async_redis(timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout)
    finally:
        await client.aclose()
