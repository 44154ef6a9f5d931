"""staffActivity: active staff by status, role and department."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.scope import Scope

from .parts import ACTIVE, base_value, count_into, group_rows, label, parts_in, summed, with_every

STATUSES = ("on_duty", "off_duty", "on_break")
ROLES = ("doctor", "nurse", "technician", "admin")


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {byStatus: {status: n}, byRole: {role: n}}."""
    rows = db.staff.aggregate(
        [
            {"$match": ACTIVE},
            {
                "$group": {
                    "_id": {"d": "$departmentId", "s": "$status", "r": "$role"},
                    "count": {"$sum": 1},
                }
            },
        ]
    )

    def add(part: dict, row: dict) -> None:
        count_into(part["byStatus"], label(row["_id"].get("s")), row["count"])
        count_into(part["byRole"], label(row["_id"].get("r")), row["count"])

    return base_value(group_rows(rows, lambda: {"byStatus": {}, "byRole": {}}, add))


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    by_status = with_every(summed(part["byStatus"] for _, part in selected), STATUSES)
    return {
        "total": sum(by_status.values()),
        "byStatus": by_status,
        "byRole": with_every(summed(part["byRole"] for _, part in selected), ROLES),
        "byDepartment": {code: with_every(part["byStatus"], STATUSES) for code, part in selected},
    }
