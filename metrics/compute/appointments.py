"""todayAppointments: active appointments scheduled within today (every status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.scope import Scope
from metrics.timerange import day_bounds

from .parts import ACTIVE, base_value, count_into, group_rows, label, parts_in, summed, with_every

STATUSES = ("scheduled", "checked_in", "completed", "cancelled", "no_show")


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: {departments: {code: {status: n}}, unassigned: {status: n} | None}."""
    start, end = day_bounds(now)
    rows = db.appointments.aggregate(
        [
            {"$match": {**ACTIVE, "scheduledAt": {"$gte": start, "$lt": end}}},
            {"$group": {"_id": {"d": "$departmentId", "s": "$status"}, "count": {"$sum": 1}}},
        ]
    )
    parts = group_rows(
        rows, dict, lambda part, row: count_into(part, label(row["_id"].get("s")), row["count"])
    )
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    by_status = with_every(summed(part for _, part in selected), STATUSES)
    return {
        "total": sum(by_status.values()),
        "byStatus": by_status,
        "byDepartment": {code: sum(part.values()) for code, part in selected},
    }
