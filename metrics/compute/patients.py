"""patientCount: active patients whose status is not "discharged"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.scope import Scope

from .parts import ACTIVE, base_value, department_of, parts_in

PIPELINE = [
    {"$match": {**ACTIVE, "status": {"$ne": "discharged"}}},
    {"$group": {"_id": "$departmentId", "count": {"$sum": 1}}},
]


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: {departments: {code: n}, unassigned: n | None}."""
    parts: dict[str | None, int] = {}
    for row in db.patients.aggregate(PIPELINE):
        department = department_of(row["_id"])
        parts[department] = parts.get(department, 0) + row["count"]
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    by_department = dict(parts_in(base, scope))
    return {"total": sum(by_department.values()), "byDepartment": by_department}
