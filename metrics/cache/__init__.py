"""Metric values in three layers: this process (1 s), the Django cache (the tier's TTL), MongoDB.

Live metrics are cached as base values (every department) under
`metric:<name>:all` and projected per scope on read; historical results
under `metric:historical:<scope>:<start>:<end>`. Beside each live base value
a last known copy is kept without expiry (`lastknown:metric:<name>:all`), and
served with stale=True while MongoDB is unreachable. When the Django cache
(Redis) fails, reads carry on from this process and MongoDB (layers.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace

from pymongo.errors import ConnectionFailure

from runtime import telemetry
from runtime.breakers import CircuitOpen, mongodb_breaker, opened_at

from ..catalogue import METRICS
from ..values import MetricValue
from . import layers
from .layers import L1_SECONDS, LocalLayer, SharedLayer

logger = logging.getLogger("dashboard.cache")

# ServerSelectionTimeoutError and AutoReconnect are ConnectionFailures.
UNREACHABLE = (ConnectionFailure, CircuitOpen)

_local = LocalLayer()
_shared = SharedLayer()


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


# --- reading through the layers ---------------------------------------------------------------------
def peek(key: str) -> MetricValue | None:
    """The cached value (L1, else L2) without computing anything; None on a miss."""
    _local.sync()
    hit = _local.get(key)
    if hit is not None:
        return hit
    cached = _shared.read(key)
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
    hit = _local.get(key)
    if hit is not None:
        telemetry.cache_requests.labels(layer="l1", result="hit").inc()
        return _marked(hit) if keep_last_known else hit
    telemetry.cache_requests.labels(layer="l1", result="miss").inc()
    with _local.lock:
        flight = _local.flights.get(key)
        leader = flight is None
        if flight is None:
            hit = _local.get(key)  # a computation may have ended since the first look
            if hit is None:
                flight = _local.flights[key] = Future()
    if flight is None:
        assert hit is not None
        return _marked(hit) if keep_last_known else hit
    if leader:
        try:
            try:
                value = _fill(key, ttl, compute, keep_last_known)
            except UNREACHABLE as exc:
                value = _instead(key, keep_last_known, metrics, exc)
            flight.set_result(value)
        except BaseException as exc:
            flight.set_exception(exc)
        finally:
            with _local.lock:
                _local.flights.pop(key, None)
    value = flight.result()
    return _marked(value) if keep_last_known else value


def _marked(value: MetricValue) -> MetricValue:
    """stale=True for a value computed before MongoDB became unreachable, while it still is.

    The MongoDB circuit breaker is this process's view of reachability (the
    dependency monitor drives it); a value computed after it opened (by the
    listener, once MongoDB answers again) is current.
    """
    if value.stale or mongodb_breaker.current_state == "closed":
        return value
    opened = opened_at(mongodb_breaker)
    if opened is None or value.updated_at < opened:
        return replace(value, stale=True)
    return value


def _fill(
    key: str, ttl: float, compute: Callable[[], MetricValue], keep_last_known: bool
) -> MetricValue:
    """L2, else `compute` through the MongoDB breaker (which raises when MongoDB is unreachable)."""
    cached = _shared.read(key)
    if cached is not None:
        telemetry.cache_requests.labels(layer="l2", result="hit").inc()
        with _local.lock:
            _local.put(key, *cached)
        return cached[0]
    telemetry.cache_requests.labels(layer="l2", result="miss").inc()
    value = mongodb_breaker.call(compute)
    telemetry.cache_requests.labels(layer="mongodb", result="computed").inc()
    _write(key, value, ttl, keep_last_known)
    return value


def _instead(
    key: str, keep_last_known: bool, metrics: list[str], exc: BaseException
) -> MetricValue:
    """What a read gives while MongoDB is unreachable: the last known value, marked stale."""
    known = last_known_at(key) if keep_last_known else None
    if known is None:
        raise MetricUnavailable(metrics) from exc
    logger.warning("serving the last known %s: the hospital database is unreachable", key)
    telemetry.cache_requests.labels(layer="last_known", result="hit").inc()
    return replace(known, stale=True)


def _write(key: str, value: MetricValue, ttl: float, keep_last_known: bool) -> None:
    expires_at = _shared.write(key, value, ttl)
    with _local.lock:
        _local.put(key, value, expires_at)
        if keep_last_known:
            _local.remember(key, value)
    if keep_last_known:
        _shared.write(_last_known_key(key), value, None)


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
        _local.put(key, value, layers.clock() + L1_SECONDS)
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
    cached = _shared.read(_last_known_key(key), expiring=False)
    if cached is None:
        return None
    with _local.lock:
        _local.remember(key, cached[0])
    return cached[0]


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
        _local.drop_matching(pattern)
    return _shared.delete_matching(pattern)


def clear_local() -> None:
    """Empty this process's layer, last known copies included (benchmarks and tests)."""
    with _local.lock:
        _local.clear()
