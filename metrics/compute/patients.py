"""patientCount: active patients whose status is not "discharged"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope

from .documents import ACTIVE, DayWindow, active, department_of
from .parts import base_value, parts_in
from .shapes import by_department


class PatientCountSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byDepartment = by_department()


METRIC = MetricDefinition(
    "patientCount",
    Tier.CRITICAL,
    ("patients",),
    data=PatientCountSerializer,
    tile=Tile("Patients in care", "now", kind="patients"),
)
COLLECTION = "patients"
WINDOWED, VALUES = False, 0
# Group: (department,). Values: none besides the count of documents.
MATCH = {**ACTIVE, "status": {"$ne": "discharged"}}
FIELDS = ("isActive", "status", "departmentId")
PIPELINE = [
    {"$match": MATCH},
    {"$group": {"_id": "$departmentId", "count": {"$sum": 1}}},
]


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: {departments: {code: n}, unassigned: n | None}."""
    return from_groups(((row["_id"],), (row["count"],)) for row in db.patients.aggregate(PIPELINE))


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    """The group this document counts in (the $match and $group above, in Python)."""
    if not active(doc) or doc.get("status") == "discharged":
        return None
    return (department_of(doc.get("departmentId")),), ()


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    """The base value from grouped rows: ((department,), (count,))."""
    parts: dict[str | None, int] = {}
    for (key,), counts in grouped:
        department = department_of(key)
        parts[department] = parts.get(department, 0) + counts[0]
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    by_department = dict(parts_in(base, scope))
    return {"total": sum(by_department.values()), "byDepartment": by_department}
