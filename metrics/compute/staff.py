"""staffActivity: active staff by status, role and department."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope

from .documents import ACTIVE, DayWindow, active, department_of, label
from .parts import base_value, count_into, parts_in, summed, with_every
from .shapes import by_department, counts_field


class StaffActivitySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = counts_field("Every status, zeros included.")
    byRole = counts_field("Every role, zeros included.")
    byDepartment = by_department(counts_field())


METRIC = MetricDefinition(
    "staffActivity",
    Tier.STANDARD,
    ("staff",),
    data=StaffActivitySerializer,
    tile=Tile("Staff", "now", kind="staff"),
)

STATUSES = ("on_duty", "off_duty", "on_break")
ROLES = ("doctor", "nurse", "technician", "admin")
COLLECTION = "staff"
WINDOWED, VALUES = False, 0
# Group: (department, status, role). Values: none besides the count of documents.
FIELDS = ("isActive", "departmentId", "status", "role")
MATCH = ACTIVE
PIPELINE = [
    {"$match": MATCH},
    {"$group": {"_id": {"d": "$departmentId", "s": "$status", "r": "$role"}, "count": {"$sum": 1}}},
]


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {byStatus: {status: n}, byRole: {role: n}}."""
    return from_groups(
        ((row["_id"].get("d"), row["_id"].get("s"), row["_id"].get("r")), (row["count"],))
        for row in db.staff.aggregate(PIPELINE)
    )


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    if not active(doc):
        return None
    key = (department_of(doc.get("departmentId")), label(doc.get("status")), label(doc.get("role")))
    return key, ()


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    """The base value from grouped rows: ((department, status, role), (count,))."""
    parts: dict[str | None, dict] = {}
    for (department, status, role), counts in grouped:
        part = parts.setdefault(department_of(department), {"byStatus": {}, "byRole": {}})
        count_into(part["byStatus"], label(status), counts[0])
        count_into(part["byRole"], label(role), counts[0])
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    by_status = with_every(summed(part["byStatus"] for _, part in selected), STATUSES)
    return {
        "total": sum(by_status.values()),
        "byStatus": by_status,
        "byRole": with_every(summed(part["byRole"] for _, part in selected), ROLES),
        "byDepartment": {code: with_every(part["byStatus"], STATUSES) for code, part in selected},
    }
