"""hourlyStats and departmentMetrics over a range, for one scope, in one pass per collection.

Each collection is read once: matched on the range (and the scope's
departments), then counted per local hour ($bucket on UTC boundaries
computed in Python) and per department ($group), side by side in a $facet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from metrics.definition import MetricDefinition, Tier
from metrics.scope import Scope
from metrics.store import get_database
from metrics.timerange import hour_boundaries, iso_local, whole_hours

from .documents import ACTIVE, department_of
from .parts import UNASSIGNED

# Both are computed together, for one range and one scope (compute_historical).
METRICS = (
    MetricDefinition(
        "hourlyStats",
        Tier.HISTORICAL,
        ("patients", "appointments", "bills", "workflows"),
        carries_revenue=True,
    ),
    MetricDefinition(
        "departmentMetrics",
        Tier.HISTORICAL,
        ("departments", "patients", "appointments", "bills", "workflows"),
        carries_revenue=True,
    ),
)
FIELDS = ("newPatients", "appointments", "completedAppointments", "revenueCents", "emergencies")


def _sources() -> list[tuple[str, str, dict, dict]]:
    """(collection, the time field, extra conditions, sums) for each part of a row."""
    completed = {"$cond": [{"$eq": ["$status", "completed"]}, 1, 0]}
    return [
        ("patients", "registeredAt", {}, {"newPatients": {"$sum": 1}}),
        (
            "appointments",
            "scheduledAt",
            {},
            {"appointments": {"$sum": 1}, "completedAppointments": {"$sum": completed}},
        ),
        (
            "bills",
            "paidAt",
            {"status": "paid", "currency": settings.HOSPITAL_CURRENCY},
            {"revenueCents": {"$sum": "$amountCents"}},
        ),
        ("workflows", "startedAt", {"priority": "emergency"}, {"emergencies": {"$sum": 1}}),
    ]


def compute_historical(start: dt.datetime, end: dt.datetime, scope: Scope) -> dict:
    """{"hourlyStats": [...], "departmentMetrics": [...]} for [start, end) widened to whole local hours."""
    db = get_database()
    boundaries = hour_boundaries(*whole_hours(start, end))
    index = {_naive(moment): i for i, moment in enumerate(boundaries[:-1])}
    hours = [dict.fromkeys(FIELDS, 0) for _ in index]
    departments: dict[str | None, dict[str, int]] = {}
    in_scope = (
        {} if scope.departments is None else {"departmentId": {"$in": sorted(scope.departments)}}
    )

    for collection, field, conditions, sums in _sources():
        match = {
            **ACTIVE,
            **conditions,
            **in_scope,
            field: {"$gte": boundaries[0], "$lt": boundaries[-1]},
        }
        facets: dict[str, list[dict]] = next(
            iter(
                db[collection].aggregate(
                    [
                        {"$match": match},
                        {
                            "$facet": {
                                "hours": [
                                    {
                                        "$bucket": {
                                            "groupBy": f"${field}",
                                            "boundaries": boundaries,
                                            "default": "outside",
                                            "output": sums,
                                        }
                                    }
                                ],
                                "departments": [{"$group": {"_id": "$departmentId", **sums}}],
                            }
                        },
                    ]
                )
            ),
            {"hours": [], "departments": []},
        )
        for row in facets["hours"]:
            position = index.get(row["_id"]) if isinstance(row["_id"], dt.datetime) else None
            if position is not None:
                _add(hours[position], row, sums)
        for row in facets["departments"]:
            department = department_of(row["_id"])
            _add(departments.setdefault(department, dict.fromkeys(FIELDS, 0)), row, sums)

    return {
        "hourlyStats": [
            {"hour": iso_local(moment), **counts}
            for moment, counts in zip(boundaries[:-1], hours, strict=True)
        ],
        "departmentMetrics": _department_rows(db, scope, departments),
    }


def _department_rows(db: Any, scope: Scope, counted: dict[str | None, dict]) -> list[dict]:
    """A row per known department in scope and per department seen in the data."""
    known_filter: dict[str, Any] = {**ACTIVE}
    if scope.departments is not None:
        known_filter["_id"] = {"$in": sorted(scope.departments)}
    names = {
        str(doc["_id"]): doc.get("name") for doc in db.departments.find(known_filter, {"name": 1})
    }
    codes = sorted(set(names) | {code for code in counted if code is not None})
    rows = [_department_row(code, names.get(code) or code, counted.get(code)) for code in codes]
    if None in counted:
        rows.append(_department_row(UNASSIGNED, "Unassigned", counted[None]))
    return rows


def _department_row(code: str, name: str, counts: dict | None) -> dict:
    return {"departmentId": code, "name": name, **(counts or dict.fromkeys(FIELDS, 0))}


def _add(target: dict[str, int], row: dict, sums: dict) -> None:
    for name in sums:
        target[name] += int(row[name])


def _naive(moment: dt.datetime) -> dt.datetime:
    """Stores hand dates back as naive UTC."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)
