"""The metrics, computed from the hospital data.

Live metrics are computed as a base value (every department, with
department-level detail) in one aggregation per metric, then projected to a
scope by a pure function: the listener computes each base once per batch and
every server process derives each subscriber's scoped value from it.
Historical metrics are computed for one range and one scope at a time.
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType

from django.utils import timezone

from metrics.scope import Scope
from metrics.store import get_database

from .historical import compute_historical

__all__ = ["compute_base", "compute_historical", "compute_metric", "live_module", "project"]


def live_module(metric: str) -> ModuleType:
    """The module of a live metric (the catalogue lists them: metrics/catalogue.py)."""
    from metrics.catalogue import METRICS  # the catalogue imports the metric modules

    definition = METRICS.get(metric)
    if definition is None or not definition.live or definition.module is None:
        raise ValueError(f"{metric!r} is not a live metric")
    return definition.module


def compute_base(metric: str, *, now: dt.datetime | None = None) -> dict:
    """The metric over every department, with per-department detail (JSON-ready).

    "Today" is the calendar day in settings.TIME_ZONE containing `now` (default: now).
    """
    return live_module(metric).compute(get_database(), now or timezone.now())


def project(metric: str, base: dict, scope: Scope) -> dict:
    """The metric's contract value for `scope`, from its base value. Pure."""
    return live_module(metric).project(base, scope)


def compute_metric(metric: str, scope: Scope, *, now: dt.datetime | None = None) -> dict:
    """Compute and project in one go (no cache)."""
    return project(metric, compute_base(metric, now=now), scope)
