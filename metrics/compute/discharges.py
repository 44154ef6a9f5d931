"""dischargesToday: inpatients discharged today, by department, and the share before noon.

An inpatient is a patient who was admitted (`admittedAt` set); a discharge is the patient's
`dischargedAt` with status `discharged`. Bed managers watch the share before noon: beds freed
in the morning take the afternoon's admissions (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope
from metrics.timerange import day_bounds, hospital_zone

from .documents import ACTIVE, DayWindow, active, department_of
from .parts import base_value, parts_in
from .shapes import by_department


class DischargesTodaySerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Inpatients discharged since local midnight.")
    beforeNoon = serializers.IntegerField(help_text="Of those, discharged before local noon.")
    beforeNoonShare = serializers.FloatField(help_text="beforeNoon / total, 4 decimals; 0 if none.")
    byDepartment = by_department()


METRIC = MetricDefinition(
    "dischargesToday",
    Tier.STANDARD,
    ("patients",),
    data=DischargesTodaySerializer,
    tile=Tile(
        "Discharges",
        "today",
        options={
            "headline": {"field": "total", "caption": "inpatients discharged today"},
            "facts": [
                {"field": "beforeNoon", "label": "Before noon"},
                {"field": "beforeNoonShare", "label": "Share before noon", "format": "percent"},
            ],
            "bars": [{"field": "byDepartment", "label": "Discharged today by department"}],
        },
    ),
)
DISCHARGED = {**ACTIVE, "status": "discharged", "admittedAt": {"$ne": None}}
# Group: (local day of dischargedAt, department, before local noon). Values: none.
FIELDS = ("isActive", "status", "admittedAt", "dischargedAt", "departmentId")
WINDOWED, VALUES = True, 0


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: {departments: {code: {beforeNoon, afterNoon}}, unassigned: ... | None}."""
    start, end = day_bounds(now)
    zone = hospital_zone()
    noon = dt.datetime.combine(now.astimezone(zone).date(), dt.time(12), tzinfo=zone)
    noon = noon.astimezone(dt.UTC)
    before = {"$cond": [{"$lt": ["$dischargedAt", noon]}, 1, 0]}
    grouped = db.patients.aggregate(
        [
            {"$match": {**DISCHARGED, "dischargedAt": {"$gte": start, "$lt": end}}},
            {"$group": {"_id": "$departmentId", "count": {"$sum": 1}, "before": {"$sum": before}}},
        ]
    )
    rows: list[tuple[Any, tuple]] = []
    for row in grouped:
        rows.append(((row["_id"], True), (row["before"],)))
        rows.append(((row["_id"], False), (row["count"] - row["before"],)))
    return from_groups(rows)


def scan_match(window: DayWindow) -> dict:
    """Discharges of the window's days (today's; none are in the future)."""
    start, _ = day_bounds(dt.datetime.combine(window.first, dt.time(12), tzinfo=window.zone))
    return {**DISCHARGED, "dischargedAt": {"$gte": start}}


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    if not active(doc) or doc.get("status") != "discharged" or doc.get("admittedAt") is None:
        return None
    moment = doc.get("dischargedAt")
    day = window.day(moment)
    if day is None or not isinstance(moment, dt.datetime):
        return None
    if moment.tzinfo is None:  # stores hand dates back as naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    before_noon = moment.astimezone(window.zone).time() < dt.time(12)
    return (day, department_of(doc.get("departmentId")), before_noon), ()


def rows(groups: dict, window: DayWindow, now: dt.datetime) -> Iterable[tuple[Any, tuple]]:
    """Today's groups, as the aggregation gives them: ((department, before noon), counts)."""
    today = window.date_of(now)
    return ((key[1:], counts) for key, counts in groups.items() if key[0] == today)


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    """The base value from today's grouped rows: ((department, before noon), (count,))."""
    parts: dict[str | None, dict[str, int]] = {}
    for (department, before_noon), counts in grouped:
        if not counts[0]:
            continue
        part = parts.setdefault(department_of(department), {"beforeNoon": 0, "afterNoon": 0})
        part["beforeNoon" if before_noon else "afterNoon"] += counts[0]
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    before = sum(part["beforeNoon"] for _, part in selected)
    total = before + sum(part["afterNoon"] for _, part in selected)
    return {
        "total": total,
        "beforeNoon": before,
        "beforeNoonShare": round(before / total, 4) if total else 0,
        "byDepartment": {code: part["beforeNoon"] + part["afterNoon"] for code, part in selected},
    }
