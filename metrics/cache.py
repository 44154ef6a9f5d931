"""Metric values in three layers: this process (1 s), the Django cache (the tier's TTL), MongoDB.

Live metrics are cached as base values (every department) under
`metric:<name>:all` and projected per scope on read; historical results
under `metric:historical:<scope>:<start>:<end>`. Beside each live base value
a last known copy is kept without expiry (`lastknown:metric:<name>:all`), and
served with stale=True while MongoDB is unreachable. When the Django cache
(Redis) fails, reads carry on from this process and MongoDB.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from pymongo.errors import ConnectionFailure

from dashboard_project import telemetry
from dashboard_project.breakers import CircuitOpen, mongodb_breaker, opened_at, redis_breaker

from . import store as hospital_store
from .catalogue import METRICS
from .values import MetricValue

logger = logging.getLogger("dashboard.cache")

L1_SECONDS = 1.0
LOG_EVERY_SECONDS = 60.0
# ServerSelectionTimeoutError and AutoReconnect are ConnectionFailures.
UNREACHABLE = (ConnectionFailure, CircuitOpen)
# Wall clock for every expiry, so that L2 entries mean the same in every process.
clock: Callable[[], float] = time.time


class MetricUnavailable(Exception):
    """MongoDB is unreachable and no value of these metrics is known."""

    code = "metrics_unavailable"

    def __init__(self, metrics: list[str]) -> None:
        super().__init__(
            f"unavailable while the hospital database is unreachable: {', '.join(metrics)}"
        )
        self.metrics = metrics


def live_key(metric: str) -> str:
    return f"metric:{metric}:all"


def historical_key(scope_key: str, start: dt.datetime, end: dt.datetime) -> str:
    return f"metric:historical:{scope_key}:{start:%Y%m%dT%H%M%SZ}:{end:%Y%m%dT%H%M%SZ}"


def _last_known_key(key: str) -> str:
    return f"lastknown:{key}"


# --- L1: this process -----------------------------------------------------------------------------
class _Local:
    """The in-process layer. It belongs to one store client: a new client starts it empty."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: Any = None
        self.entries: dict[str, tuple[float, MetricValue]] = {}
        self.last_known: dict[str, MetricValue] = {}
        self.flights: dict[str, Future] = {}

    def sync(self) -> None:
        client = hospital_store.get_client()
        if client is not self.client:
            with self.lock:
                self.entries.clear()
                self.last_known.clear()
                self.client = client

    def get(self, key: str) -> MetricValue | None:
        entry = self.entries.get(key)
        if entry is None or entry[0] <= clock():
            return None
        return entry[1]

    def put(self, key: str, value: MetricValue, expires_at: float) -> None:
        current = self.entries.get(key)
        if current is not None and current[0] > clock() and current[1].version > value.version:
            return
        if len(self.entries) > 512:
            now = clock()
            for old in [k for k, (expiry, _) in self.entries.items() if expiry <= now]:
                del self.entries[old]
        self.entries[key] = (min(expires_at, clock() + L1_SECONDS), value)

    def remember(self, key: str, value: MetricValue) -> None:
        current = self.last_known.get(key)
        if current is None or current.version <= value.version:
            self.last_known[key] = value


_local = _Local()


# --- L2: the Django cache (Redis in production) -------------------------------------------------
_FAILED = object()
_l2_keys: dict[str, float] = {}  # key -> expiry, for pattern deletes on backends that cannot scan
_l2_log_at = 0.0


def _l2(operation: Callable[..., Any], *args: Any) -> Any:
    """Run one cache operation; on failure count it, log at most once a minute, return _FAILED."""
    global _l2_log_at
    try:
        return redis_breaker.call(operation, *args)
    except Exception as exc:
        telemetry.cache_requests.labels(layer="l2", result="error").inc()
        telemetry.errors.labels(kind="cache_l2").inc()
        if time.monotonic() - _l2_log_at >= LOG_EVERY_SECONDS:
            _l2_log_at = time.monotonic()
            logger.warning("metric cache L2 unavailable, serving from L1 and MongoDB: %r", exc)
        return _FAILED


def _backend():
    return caches["default"]


def _l2_read(key: str) -> tuple[MetricValue, float] | None:
    """(value, expiry), or None; an entry kept past its TTL (by any backend) is never served."""
    payload = _l2(_backend().get, key)
    if not isinstance(payload, dict) or payload.get("expires_at", 0) <= clock():
        return None
    return MetricValue.from_payload(payload), payload["expires_at"]


def _l2_write(key: str, value: MetricValue, ttl: float | None) -> float:
    """Write unless L2 holds a newer version; returns the expiry (inf without TTL)."""
    expires_at = clock() + ttl if ttl is not None else float("inf")
    current = _l2(_backend().get, key)
    if current is _FAILED:
        return expires_at
    if (
        isinstance(current, dict)
        and current.get("version", 0) > value.version
        and current.get("expires_at", 0) > clock()
    ):
        return expires_at
    if _l2(_backend().set, key, value.to_payload(expires_at), ttl) is not _FAILED:
        _l2_keys[key] = expires_at
        if len(_l2_keys) > 1024:
            for old in [k for k, expiry in _l2_keys.items() if expiry <= clock()]:
                _l2_keys.pop(old, None)
    return expires_at


# --- reading through the layers ---------------------------------------------------------------------
def peek(key: str) -> MetricValue | None:
    """The cached value (L1, else L2) without computing anything; None on a miss."""
    _local.sync()
    hit = _local.get(key)
    if hit is not None:
        return hit
    cached = _l2_read(key)
    return cached[0] if cached is not None else None


def read_through(
    key: str,
    ttl: float,
    compute: Callable[[], MetricValue],
    *,
    keep_last_known: bool,
    metrics: list[str],
) -> MetricValue:
    """L1, then L2, then `compute` (once for concurrent callers of one key).

    When MongoDB is unreachable, the last known value (if kept and known) comes
    back with stale=True; otherwise MetricUnavailable.
    """
    _local.sync()
    value = _read_through(key, ttl, compute, keep_last_known, metrics)
    return _marked(value) if keep_last_known else value


def _read_through(
    key: str,
    ttl: float,
    compute: Callable[[], MetricValue],
    keep_last_known: bool,
    metrics: list[str],
) -> MetricValue:
    hit = _local.get(key)
    if hit is not None:
        telemetry.cache_requests.labels(layer="l1", result="hit").inc()
        return hit
    telemetry.cache_requests.labels(layer="l1", result="miss").inc()
    with _local.lock:
        flight = _local.flights.get(key)
        leader = flight is None
        if leader:
            hit = _local.get(key)
            if hit is not None:
                return hit
            flight = _local.flights[key] = Future()
    if not leader:
        return flight.result()
    try:
        value = _fill(key, ttl, compute, keep_last_known, metrics)
    except BaseException as exc:
        flight.set_exception(exc)
        raise
    finally:
        with _local.lock:
            _local.flights.pop(key, None)
    flight.set_result(value)
    return value


def _marked(value: MetricValue) -> MetricValue:
    """stale=True for a value computed before MongoDB became unreachable, while it still is.

    The MongoDB circuit breaker is this process's view of reachability (the
    hub's probe drives it); a value computed after it opened (by the listener,
    once MongoDB answers again) is current.
    """
    if value.stale or mongodb_breaker.current_state == "closed":
        return value
    opened = opened_at(mongodb_breaker)
    if opened is None or value.updated_at < opened:
        return replace(value, stale=True)
    return value


def _fill(
    key: str,
    ttl: float,
    compute: Callable[[], MetricValue],
    keep_last_known: bool,
    metrics: list[str],
) -> MetricValue:
    cached = _l2_read(key)
    if cached is not None:
        telemetry.cache_requests.labels(layer="l2", result="hit").inc()
        with _local.lock:
            _local.put(key, *cached)
        return cached[0]
    telemetry.cache_requests.labels(layer="l2", result="miss").inc()
    try:
        value = mongodb_breaker.call(compute)
    except UNREACHABLE as exc:
        known = last_known_at(key) if keep_last_known else None
        if known is None:
            raise MetricUnavailable(metrics) from exc
        logger.warning("serving the last known %s: the hospital database is unreachable", key)
        telemetry.cache_requests.labels(layer="last_known", result="hit").inc()
        return replace(known, stale=True)
    telemetry.cache_requests.labels(layer="mongodb", result="computed").inc()
    _write(key, value, ttl, keep_last_known)
    return value


def _write(key: str, value: MetricValue, ttl: float, keep_last_known: bool) -> None:
    expires_at = _l2_write(key, value, ttl)
    with _local.lock:
        _local.put(key, value, expires_at)
        if keep_last_known:
            _local.remember(key, value)
    if keep_last_known:
        _l2_write(_last_known_key(key), value, None)


# --- what the listener and the hub write ------------------------------------------------------------
def store(value: MetricValue) -> None:
    """Write a freshly computed live base value to L1, L2 and the last known copies."""
    _local.sync()
    _write(live_key(value.metric), value, METRICS[value.metric].ttl, keep_last_known=True)


def prime_local(value: MetricValue) -> None:
    """Put a base value received from another process into this process's layer (L1 only)."""
    _local.sync()
    key = live_key(value.metric)
    with _local.lock:
        _local.put(key, value, clock() + L1_SECONDS)
        if not value.stale:
            _local.remember(key, value)


def last_known(metric: str) -> MetricValue | None:
    """The newest base value of a live metric this process knows of (L1, else L2), never expiring."""
    _local.sync()
    return last_known_at(live_key(metric))


def last_known_at(key: str) -> MetricValue | None:
    with _local.lock:
        known = _local.last_known.get(key)
    if known is not None:
        return known
    payload = _l2(_backend().get, _last_known_key(key))
    if not isinstance(payload, dict):
        return None
    known = MetricValue.from_payload(payload)
    with _local.lock:
        _local.remember(key, known)
    return known


# --- invalidation -------------------------------------------------------------------------------------
def invalidate(metric: str) -> int:
    """Drop a metric's cached values (L1 and L2; the last known copy stays for outages)."""
    if METRICS[metric].live:
        return invalidate_pattern(live_key(metric))
    return invalidate_pattern("metric:historical:*")


def invalidate_pattern(pattern: str) -> int:
    """Drop every cached value whose key matches an fnmatch pattern (e.g. "metric:*"); returns L2 keys dropped."""
    _local.sync()
    with _local.lock:
        for key in [k for k in _local.entries if fnmatch.fnmatchcase(k, pattern)]:
            del _local.entries[key]
    backend = _backend()
    if isinstance(backend, RedisCache):
        return _redis_delete_matching(backend, pattern)
    keys = [key for key in list(_l2_keys) if fnmatch.fnmatchcase(key, pattern)]
    if keys and _l2(backend.delete_many, keys) is not _FAILED:
        for key in keys:
            _l2_keys.pop(key, None)
    return len(keys)


def _redis_delete_matching(backend: RedisCache, pattern: str) -> int:
    """SCAN the keys under the literal start of the pattern, filter with fnmatch, delete them."""
    prefix = backend.make_key("")
    literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    glob = re.sub(r"([*?\[\]\\])", r"\\\1", prefix + literal) + "*"

    def delete() -> int:
        client = backend._cache.get_client(write=True)
        doomed = []
        for full in client.scan_iter(match=glob, count=500):
            full = full.decode() if isinstance(full, bytes) else full
            if fnmatch.fnmatchcase(full[len(prefix) :], pattern):
                doomed.append(full)
        for offset in range(0, len(doomed), 500):
            client.delete(*doomed[offset : offset + 500])
        return len(doomed)

    deleted = _l2(delete)
    for key in [k for k in _l2_keys if fnmatch.fnmatchcase(k, pattern)]:
        _l2_keys.pop(key, None)
    return 0 if deleted is _FAILED else deleted


def clear_local() -> None:
    """Empty this process's layer, last known copies included (benchmarks and tests)."""
    with _local.lock:
        _local.entries.clear()
        _local.last_known.clear()
