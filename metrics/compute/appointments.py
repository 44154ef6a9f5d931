"""todayAppointments: active appointments scheduled within today (every status)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope
from metrics.timerange import day_bounds

from .documents import ACTIVE, DayWindow, active, department_of, label
from .parts import base_value, count_into, parts_in, summed, with_every
from .shapes import by_department, counts_field


class TodayAppointmentsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = counts_field("Every status, zeros included.")
    byDepartment = by_department()


METRIC = MetricDefinition(
    "todayAppointments",
    Tier.STANDARD,
    ("appointments",),
    data=TodayAppointmentsSerializer,
    tile=Tile("Appointments", "today", kind="appointments"),
)

STATUSES = ("scheduled", "checked_in", "completed", "cancelled", "no_show")
COLLECTION = "appointments"
# Group: (local day of scheduledAt, department, status); the value is today's groups.
# Values: none besides the count of documents.
FIELDS = ("isActive", "departmentId", "status", "scheduledAt")
WINDOWED, VALUES = True, 0


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: {departments: {code: {status: n}}, unassigned: {status: n} | None}."""
    start, end = day_bounds(now)
    grouped = db.appointments.aggregate(
        [
            {"$match": {**ACTIVE, "scheduledAt": {"$gte": start, "$lt": end}}},
            {"$group": {"_id": {"d": "$departmentId", "s": "$status"}, "count": {"$sum": 1}}},
        ]
    )
    return from_groups(
        ((row["_id"].get("d"), row["_id"].get("s")), (row["count"],)) for row in grouped
    )


def scan_match(window: DayWindow) -> dict:
    """Appointments of the window's days: today's, and those still to come."""
    start, _ = day_bounds(dt.datetime.combine(window.first, dt.time(12), tzinfo=window.zone))
    return {**ACTIVE, "scheduledAt": {"$gte": start}}


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    if not active(doc):
        return None
    day = window.day(doc.get("scheduledAt"))
    if day is None:
        return None
    return (day, department_of(doc.get("departmentId")), label(doc.get("status"))), ()


def rows(groups: dict, window: DayWindow, now: dt.datetime) -> Iterable[tuple[Any, tuple]]:
    """Today's groups, as the aggregation groups them: ((department, status), counts)."""
    today = window.date_of(now)
    return ((key[1:], counts) for key, counts in groups.items() if key[0] == today)


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    """The base value from today's grouped rows: ((department, status), (count,))."""
    parts: dict[str | None, dict] = {}
    for (department, status), counts in grouped:
        count_into(parts.setdefault(department_of(department), {}), label(status), counts[0])
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    by_status = with_every(summed(part for _, part in selected), STATUSES)
    return {
        "total": sum(by_status.values()),
        "byStatus": by_status,
        "byDepartment": {code: sum(part.values()) for code, part in selected},
    }
