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

from . import alerts, appointments, patients, revenue, rooms, staff
from .historical import compute_historical

LIVE: dict[str, ModuleType] = {
    "patientCount": patients,
    "emergencyAlerts": alerts,
    "roomOccupancy": rooms,
    "todayAppointments": appointments,
    "revenue": revenue,
    "staffActivity": staff,
}

__all__ = ["LIVE", "compute_base", "compute_historical", "compute_metric", "project"]


def _module(metric: str) -> ModuleType:
    try:
        return LIVE[metric]
    except KeyError:
        raise ValueError(f"{metric!r} is not a live metric") from None


def compute_base(metric: str, *, now: dt.datetime | None = None) -> dict:
    """The metric over every department, with per-department detail (JSON-ready).

    "Today" is the calendar day in settings.TIME_ZONE containing `now` (default: now).
    """
    return _module(metric).compute(get_database(), now or timezone.now())


def project(metric: str, base: dict, scope: Scope) -> dict:
    """The metric's contract value for `scope`, from its base value. Pure."""
    return _module(metric).project(base, scope)


def compute_metric(metric: str, scope: Scope, *, now: dt.datetime | None = None) -> dict:
    """Compute and project in one go (no cache)."""
    return project(metric, compute_base(metric, now=now), scope)
