"""What the REST views, the WebSocket consumer and the listener ask for: metric values, cached.

All synchronous (the consumer runs them in worker threads). Who may see what
is the access policy's answer (accounts.policy), asked here and nowhere else
in this app.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Protocol

from django.utils import timezone

from . import cache
from .cache import MetricUnavailable
from .catalogue import HISTORICAL_METRICS, METRICS
from .compute import compute_base, compute_historical, compute_metric, project
from .scope import Scope
from .store import get_database
from .throttling import historical_wait
from .timerange import iso_local, whole_hours
from .values import MetricValue
from .versions import position_now

__all__ = [
    "HistoricalThrottled",
    "MetricUnavailable",
    "MetricValue",
    "Viewer",
    "compute_metric",
    "get_historical",
    "get_live_base",
    "get_live_value",
    "get_snapshot",
    "project_value",
    "refresh_live_value",
]

HISTORICAL_TTL = METRICS["hourlyStats"].ttl


class Viewer(Protocol):
    """What the selectors need to know of the user (accounts.policy.Access decides it)."""

    @property
    def user_id(self) -> int | None: ...

    @property
    def scope(self) -> Scope: ...

    @property
    def live_metrics(self) -> list[str]: ...

    def can_see(self, metric: str) -> bool: ...

    def hidden_fields(self, metric: str) -> frozenset[str]: ...


def _computed(name: str, compute) -> MetricValue:
    """A fresh value from MongoDB: its version the database's position read before the
    computation's reads (so no later than what they see), its time the start's."""
    version = position_now(get_database())
    started = timezone.now()
    return MetricValue(name, compute(started), version, started)


def _compute_live(metric: str) -> MetricValue:
    return _computed(metric, lambda now: compute_base(metric, now=now))


def _live_definition(metric: str):
    definition = METRICS.get(metric)
    if definition is None or not definition.live:
        raise ValueError(f"{metric!r} is not a live metric")
    return definition


def get_live_value(metric: str, scope: Scope) -> MetricValue:
    """The metric for `scope`: L1, L2, else computed; stale last known value while MongoDB is down."""
    return project_value(get_live_base(metric), scope)


def get_live_base(metric: str) -> MetricValue:
    """The cached base value (every department, unprojected), as get_live_value reads it."""
    definition = _live_definition(metric)
    return cache.read_through(
        cache.live_key(metric),
        definition.ttl,
        lambda: _compute_live(metric),
        keep_last_known=True,
        metrics=[metric],
    )


def refresh_live_value(metric: str) -> tuple[MetricValue, bool]:
    """Recompute a base value from MongoDB (no cache read), store it; (value, changed since the last known)."""
    _live_definition(metric)
    previous = cache.last_known(metric)
    value = _compute_live(metric)
    cache.store(value)
    return value, previous is None or previous.data != value.data


def project_value(value: MetricValue, scope: Scope) -> MetricValue:
    """A base value seen from `scope`; same version, time and staleness."""
    return replace(value, data=project(value.metric, value.data, scope))


def get_snapshot(access: Viewer) -> dict:
    """{"metrics": {name: {data, updatedAt, stale, version}}}: every live metric `access` may see."""
    metrics: dict[str, dict] = {}
    unavailable: list[str] = []
    for name in access.live_metrics:
        try:
            value = get_live_value(name, access.scope)
        except MetricUnavailable:
            unavailable.append(name)
            continue
        metrics[name] = value.to_update()
    if unavailable:
        raise MetricUnavailable(unavailable)
    return {"metrics": metrics}


class HistoricalThrottled(Exception):
    """The user had too many ranges computed lately; `retry_after` seconds until the next."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many historical ranges computed: retry in {retry_after} s")
        self.retry_after = retry_after


def get_historical(access: Viewer, start: dt.datetime, end: dt.datetime) -> dict:
    """hourlyStats and departmentMetrics over [start, end) widened to whole local hours, for `access`.

    A range not in the cache counts against the user's budget (metrics/throttling.py);
    over it, HistoricalThrottled.
    """
    start, end = whole_hours(start, end)
    scope = access.scope
    key = cache.historical_key(scope.key, start, end)
    if cache.peek(key) is None:
        wait = historical_wait(access.user_id)
        if wait is not None:
            raise HistoricalThrottled(wait)
    value = cache.read_through(
        key,
        HISTORICAL_TTL,
        lambda: _compute_historical(start, end, scope),
        keep_last_known=False,
        metrics=list(HISTORICAL_METRICS),
    )
    result: dict[str, Any] = {"timeRange": {"start": iso_local(start), "end": iso_local(end)}}
    for name in HISTORICAL_METRICS:
        hidden = access.hidden_fields(name)
        rows = value.data[name] if access.can_see(name) else []
        result[name] = [{k: v for k, v in row.items() if k not in hidden} for row in rows]
    return result


def _compute_historical(start: dt.datetime, end: dt.datetime, scope: Scope) -> MetricValue:
    return _computed("historical", lambda now: compute_historical(start, end, scope))
