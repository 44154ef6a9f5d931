"""The two cache layers in front of MongoDB: this process (L1) and the Django cache (L2).

Both expire entries by one wall clock (`clock`), so that an L2 entry means the
same in every process. L2 failures (Redis away) are counted, logged at most
once a minute and read as misses: the caller carries on from L1 and MongoDB.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from runtime import telemetry
from runtime.breakers import redis_breaker
from runtime.dependencies import sync_redis

from .. import store as hospital_store
from ..values import MetricValue

logger = logging.getLogger("dashboard.cache")

L1_SECONDS = 1.0
LOG_EVERY_SECONDS = 60.0
# Wall clock for every expiry, so that L2 entries mean the same in every process.
clock: Callable[[], float] = time.time


# The Django cache key version of every metric value entry (`<prefix>:<n>:<key>`). 1 held
# values versioned by a process's clock (time.time_ns(), about 1.8e18), which would shadow
# every value versioned by database positions: entries under it are never read again.
VALUES_KEY_VERSION = 2


def version_key(key: str) -> str:
    """The companion entry of an L2 value: (version, expiry), read before every write."""
    return f"version:{key}"


class LocalLayer:
    """L1, in this process. It belongs to one store client: a new client starts it empty."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: Any = None
        self.entries: dict[str, tuple[float, MetricValue]] = {}
        self.last_known: dict[str, MetricValue] = {}
        self.flights: dict[str, Future] = {}  # key -> the computation in progress

    def sync(self) -> None:
        client = hospital_store.get_client()
        if client is not self.client:
            with self.lock:
                self.clear()
                self.client = client

    def get(self, key: str) -> MetricValue | None:
        entry = self.entries.get(key)
        if entry is None or entry[0] <= clock():
            return None
        return entry[1]

    def put(self, key: str, value: MetricValue, expires_at: float) -> None:
        """Keep `value` for at most L1_SECONDS, unless a newer live one is held."""
        current = self.entries.get(key)
        if current is not None and current[0] > clock() and current[1].version > value.version:
            return
        if len(self.entries) > 512:
            now = clock()
            for old in [k for k, (expiry, _) in self.entries.items() if expiry <= now]:
                del self.entries[old]
        self.entries[key] = (min(expires_at, clock() + L1_SECONDS), value)

    def remember(self, key: str, value: MetricValue) -> None:
        """Keep `value` as the last known one of `key` unless a newer one is kept."""
        current = self.last_known.get(key)
        if current is None or current.version <= value.version:
            self.last_known[key] = value

    def drop_matching(self, pattern: str) -> None:
        for key in [k for k in self.entries if fnmatch.fnmatchcase(k, pattern)]:
            del self.entries[key]

    def clear(self) -> None:
        self.entries.clear()
        self.last_known.clear()


class SharedLayer:
    """L2, the Django cache: Redis in production, shared by every process."""

    def __init__(self) -> None:
        # key -> expiry, for pattern deletes on backends that cannot scan
        self.keys: dict[str, float] = {}
        self._logged_at = 0.0

    def _call(self, operation: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        """(True, result) or (False, None) when the cache failed (counted, logged once a minute)."""
        try:
            return True, redis_breaker.call(operation, *args)
        except Exception as exc:
            telemetry.cache_requests.labels(layer="l2", result="error").inc()
            telemetry.errors.labels(kind="cache_l2").inc()
            if time.monotonic() - self._logged_at >= LOG_EVERY_SECONDS:
                self._logged_at = time.monotonic()
                logger.warning("metric cache L2 unavailable, serving from L1 and MongoDB: %r", exc)
            return False, None

    @staticmethod
    def _backend():
        return caches["default"]

    # Every entry under VALUES_KEY_VERSION.
    def _get(self, key: str) -> Any:
        return self._backend().get(key, version=VALUES_KEY_VERSION)

    def _get_many(self, keys: list[str]) -> dict:
        return self._backend().get_many(keys, version=VALUES_KEY_VERSION)

    def _set_many(self, entries: dict, ttl: float | None) -> Any:
        return self._backend().set_many(entries, ttl, version=VALUES_KEY_VERSION)

    def _delete_many(self, keys: list[str]) -> Any:
        return self._backend().delete_many(keys, version=VALUES_KEY_VERSION)

    def read(self, key: str, *, expiring: bool = True) -> tuple[MetricValue, float] | None:
        """(value, expiry), or None; an entry kept past its TTL (by any backend) is never served."""
        _, payload = self._call(self._get, key)
        if not isinstance(payload, dict):
            return None
        if expiring and payload.get("expires_at", 0) <= clock():
            return None
        return MetricValue.from_payload(payload), payload["expires_at"]

    def write(self, key: str, value: MetricValue, ttl: float | None) -> float:
        """Write unless L2 holds a newer version; returns the expiry (inf without TTL).

        The newer-version check reads a small companion entry (`version_key`: version and
        expiry) rather than the value itself, so a write costs one pickled value whatever its
        size. Pattern deletes take companions with their values; companions expire with them.
        """
        expires_at = clock() + ttl if ttl is not None else float("inf")
        answered, current = self._call(self._get, version_key(key))
        if not answered:
            return expires_at
        if isinstance(current, tuple) and current[0] > value.version and current[1] > clock():
            return expires_at
        entries = {key: value.to_payload(expires_at), version_key(key): (value.version, expires_at)}
        if self._call(self._set_many, entries, ttl)[0]:
            self.keys[key] = expires_at
            if len(self.keys) > 1024:
                for old in [k for k, expiry in self.keys.items() if expiry <= clock()]:
                    self.keys.pop(old, None)
        return expires_at

    def delete_matching(self, pattern: str) -> int:
        """Delete every key matching an fnmatch pattern; how many were deleted."""
        backend = self._backend()
        if isinstance(backend, RedisCache):
            answered, deleted = self._call(_redis_delete_matching, backend, pattern)
            # The values' companions go too (not counted: they are not values).
            answered = (
                answered and self._call(_redis_delete_matching, backend, version_key(pattern))[0]
            )
        else:
            # This process's record of the keys it wrote; some may be gone already.
            known = [key for key in self.keys if fnmatch.fnmatchcase(key, pattern)]
            answered, present = self._call(self._get_many, known) if known else (True, {})
            doomed = list(present or {})
            companions = [version_key(key) for key in known]
            answered = answered and (
                not known or self._call(self._delete_many, doomed + companions)[0]
            )
            deleted = len(doomed)
        if answered:
            for key in [k for k in self.keys if fnmatch.fnmatchcase(k, pattern)]:
                self.keys.pop(key, None)
        return deleted if answered else 0


def _redis_delete_matching(backend: RedisCache, pattern: str) -> int:
    """SCAN the keys under the literal start of the pattern, filter with fnmatch, delete them."""
    prefix = backend.make_key("", version=VALUES_KEY_VERSION)
    literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    glob = re.sub(r"([*?\[\]\\])", r"\\\1", prefix + literal) + "*"
    client = sync_redis(str(settings.CACHES["default"]["LOCATION"]))
    try:
        doomed = [
            full
            for full in (k.decode() for k in client.scan_iter(match=glob, count=500))
            if fnmatch.fnmatchcase(full[len(prefix) :], pattern)
        ]
        for offset in range(0, len(doomed), 500):
            client.delete(*doomed[offset : offset + 500])
    finally:
        client.close()
    return len(doomed)
