"""Recompute metrics from MongoDB and broadcast what changed (the listener's and acknowledgements' path)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dashboard_project import telemetry
from metrics.catalogue import LIVE_METRICS
from metrics.selectors import refresh_live_value

from .broadcast import broadcast_value
from .off_loop import off_loop

logger = logging.getLogger("dashboard.pipeline")


def critical_first(metrics: Iterable[str]) -> list[str]:
    wanted = set(metrics)
    return [name for name in LIVE_METRICS if name in wanted]


async def refresh_and_broadcast(metrics: Iterable[str], *, force: bool = False) -> list[str]:
    """Recompute each metric once (critical first), cache it, broadcast it if it changed.

    Returns the names broadcast. A broadcast failure propagates: the caller
    keeps its checkpoint and retries, so no change is lost.
    """
    sent = []
    for metric in critical_first(metrics):
        value, changed = await off_loop(refresh_live_value)(metric)
        if changed or force:
            await broadcast_value(value)
            telemetry.broadcasts.labels(metric=metric).inc()
            sent.append(metric)
    return sent
