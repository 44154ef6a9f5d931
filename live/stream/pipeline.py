"""Store metric values in the cache layers and broadcast what changed.

Two ways in: the listener builds base values from its incremental state
(`publish_built`), versioned with the state's position (the clusterTime of the
last change folded into it); an acknowledgement recomputes emergencyAlerts
from MongoDB (`refresh_and_broadcast`), versioned with the position read
before the computation's reads (metrics/versions.py). Either way a value is
broadcast only when it differs from the last known one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.utils import timezone

from metrics import cache
from metrics.catalogue import LIVE_METRICS
from metrics.selectors import refresh_live_value
from metrics.values import MetricValue
from runtime import telemetry
from runtime.off_loop import off_loop

from .broadcast import broadcast_values

logger = logging.getLogger("dashboard.pipeline")

Build = Callable[[str, dt.datetime], dict]


def critical_first(metrics: Iterable[str]) -> list[str]:
    wanted = set(metrics)
    return [name for name in LIVE_METRICS if name in wanted]


async def refresh_and_broadcast(metrics: Iterable[str], *, force: bool = False) -> list[str]:
    """Recompute each metric once (critical first), cache it, broadcast it if it changed.

    Returns the names broadcast. A broadcast failure propagates: the caller
    keeps its checkpoint and retries, so no change is lost.
    """
    values = []
    for metric in critical_first(metrics):
        value, changed = await off_loop(refresh_live_value)(metric)
        if changed or force:
            values.append(value)
    await broadcast_values(values)
    for value in values:
        telemetry.broadcasts.labels(metric=value.metric).inc()
    return [value.metric for value in values]


def store_built(metric: str, build: Build, version: int) -> tuple[MetricValue, bool]:
    """Build a base value of the state at `version`, store it; (value, changed since the last
    known). A state rebuilt with time alone (a tick, a new day) keeps its version."""
    previous = cache.last_known(metric)
    started = timezone.now()
    value = MetricValue(metric, build(metric, started), version, started)
    cache.store(value)
    return value, previous is None or previous.data != value.data


async def publish_built(
    metrics: Iterable[str], build: Build, version: int, *, force: bool = False
) -> list[str]:
    """Build and store each metric of the state at `version` (critical first, in one worker
    thread), then broadcast those that changed (all with `force`). Returns the names
    broadcast; a broadcast failure propagates."""
    ordered = critical_first(metrics)

    def store_all() -> list[tuple[MetricValue, bool]]:
        return [store_built(metric, build, version) for metric in ordered]

    values = [value for value, changed in await off_loop(store_all)() if changed or force]
    await broadcast_values(values)
    for value in values:
        telemetry.broadcasts.labels(metric=value.metric).inc()
    return [value.metric for value in values]
