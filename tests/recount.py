"""Every live metric computed from scratch, to compare with the values a server serves.

A metric that moves with time alone (`tick_seconds`, such as erWaiting's longest wait) is
recounted at the moment its served value was built (the value's `updatedAt`): recounted now,
it would differ by the seconds since, however right the served value is.
"""

from __future__ import annotations

import datetime as dt

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.scope import Scope
from metrics.selectors import compute_metric


def moments(served: dict[str, dict]) -> dict[str, str]:
    """metric -> the `updatedAt` to recount it at, for the metrics that move with time."""
    return {
        metric: value["updatedAt"]
        for metric, value in served.items()
        if metric in METRICS and METRICS[metric].tick_seconds and value.get("updatedAt")
    }


def recount(at: dict[str, str] | None = None) -> dict[str, dict]:
    """metric -> its data for all departments; those named in `at` at that moment."""
    at = at or {}
    return {
        metric: compute_metric(
            metric,
            Scope.all(),
            now=dt.datetime.fromisoformat(at[metric]) if metric in at else None,
        )
        for metric in LIVE_METRICS
    }
