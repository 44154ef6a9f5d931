"""Where Redis is, for settings.py: one server (REDIS_URL) or a primary watched by Sentinel.

`REDIS_SENTINELS` (`host:port,...`) with `REDIS_SENTINEL_MASTER` names a
primary that Redis Sentinel promotes a replica to replace when it fails. The
channel layer, the Django cache and every client made by
`runtime.dependencies` then ask the sentinels where the primary is
each time they connect, so they all follow a failover (docs/configuration.md).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

SENTINEL_PORT = 26379
# The Django cache's LOCATION with Sentinel: redis-sentinel://<master>/<db>.
SENTINEL_SCHEME = "redis-sentinel"
# The Django cache's connection pool when Redis is reached through Sentinel.
SENTINEL_CACHE_POOL = "runtime.dependencies.SentinelCachePool"


def parse_sentinels(entries: list[str]) -> list[tuple[str, int]]:
    """`host:port` entries (port 26379 when left out; `[v6]:port` for IPv6) as pairs."""
    sentinels = []
    for entry in entries:
        host, colon, port = entry.rpartition(":")
        if not colon or "]" in port:  # no port given
            host, port = entry, str(SENTINEL_PORT)
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(
                f"REDIS_SENTINELS entries are host:port, got {entry!r} "
                "(e.g. REDIS_SENTINELS=sentinel1:26379,sentinel2:26379,sentinel3:26379)"
            )
        sentinels.append((host, int(port)))
    return sentinels


def check_choice(url: str | None, sentinels: list[tuple[str, int]], master: str | None) -> None:
    """One way to Redis at a time, and a Sentinel setup names its primary."""
    if url and sentinels:
        raise ImproperlyConfigured(
            "REDIS_URL and REDIS_SENTINELS are both set: use REDIS_URL for one Redis server, "
            "or REDIS_SENTINELS with REDIS_SENTINEL_MASTER for a primary watched by Sentinel."
        )
    if sentinels and not master:
        raise ImproperlyConfigured(
            "REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is empty: name the primary "
            "as the sentinels know it (their `sentinel monitor <name> ...` line)."
        )


def sentinel_kwargs(password: str | None, timeout: float) -> dict:
    """How to talk to the sentinels themselves."""
    options: dict = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if password:
        options["password"] = password
    return options


def channel_layers(
    url: str | None,
    sentinels: list[tuple[str, int]],
    *,
    master: str | None,
    password: str | None,
    sentinel_password: str | None,
    db: int,
    timeout: float,
    prefix: str,
) -> dict:
    """The pub/sub channel layer on one Redis server or on the Sentinel-watched primary."""
    host: dict = {"socket_connect_timeout": timeout, "socket_keepalive": True}
    if sentinels:
        host.update(
            {
                "sentinels": sentinels,
                "master_name": master,
                "sentinel_kwargs": sentinel_kwargs(sentinel_password, timeout),
                "db": db,
            }
        )
        if password:
            host["password"] = password
    else:
        host["address"] = url
    # The pub/sub layer: one Redis PUBLISH per group message, no per-channel queues with a
    # capacity that silently drops bursts (docs/configuration.md, "Redis: channel layer and cache").
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": prefix},
        }
    }


def caches(
    url: str | None,
    sentinels: list[tuple[str, int]],
    *,
    master: str | None,
    password: str | None,
    db: int,
    timeout: float,
    prefix: str,
) -> dict:
    """Django's RedisCache on one server, or on the primary through a Sentinel-aware pool.

    Django's RedisCache builds its pool with `pool_class.from_url(LOCATION, **OPTIONS)`;
    SentinelCachePool reads the sentinels from the settings and takes the primary's name
    and database from a LOCATION of the form `redis-sentinel://<master>/<db>`.
    """
    options: dict = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    location = url
    if sentinels:
        location = f"{SENTINEL_SCHEME}://{master}/{db}"
        options["pool_class"] = SENTINEL_CACHE_POOL
        if password:
            options["password"] = password
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": options,
        }
    }
