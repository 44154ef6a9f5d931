"""roomsInMaintenance: a throwaway metric, one module, served everywhere the bundled ones are.

The tests add it with DASHBOARD_EXTRA_METRICS=tests.metrics.extra.maintenance and find it in
the catalogue, the REST snapshot, the socket, the OpenAPI and AsyncAPI documents and the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.compute.documents import ACTIVE, DayWindow, active, department_of
from metrics.compute.parts import base_value, parts_in
from metrics.compute.shapes import by_department
from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope


class RoomsInMaintenanceSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byDepartment = by_department()


METRIC = MetricDefinition(
    "roomsInMaintenance",
    Tier.STANDARD,
    ("rooms",),
    data=RoomsInMaintenanceSerializer,
    tile=Tile(
        "Rooms in maintenance",
        "now",
        options={
            "headline": {"field": "total", "caption": "rooms out of service"},
            "bars": [{"field": "byDepartment", "label": "In maintenance by department"}],
        },
    ),
)
MATCH = {**ACTIVE, "status": "maintenance"}
FIELDS = ("isActive", "status", "departmentId")
WINDOWED, VALUES = False, 0


def compute(db: Any, now: dt.datetime) -> dict:
    rows = db.rooms.aggregate(
        [{"$match": MATCH}, {"$group": {"_id": "$departmentId", "n": {"$sum": 1}}}]
    )
    return from_groups(((row["_id"],), (row["n"],)) for row in rows)


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    if not active(doc) or doc.get("status") != "maintenance":
        return None
    return (department_of(doc.get("departmentId")),), ()


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    parts: dict[str | None, int] = {}
    for (department,), counts in grouped:
        code = department_of(department)
        parts[code] = parts.get(code, 0) + counts[0]
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    by_department_ = dict(parts_in(base, scope))
    return {"total": sum(by_department_.values()), "byDepartment": by_department_}
