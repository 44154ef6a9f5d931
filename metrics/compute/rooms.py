"""roomOccupancy: active rooms, their beds and occupied beds, per department, type and status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope

from .documents import ACTIVE, DayWindow, active, department_of, label, number
from .parts import base_value, count_into, parts_in, with_every
from .shapes import by_department, counts_field


class BedCountsSerializer(serializers.Serializer):
    rooms = serializers.IntegerField()
    beds = serializers.IntegerField()
    occupiedBeds = serializers.IntegerField()


class OccupancySerializer(BedCountsSerializer):
    occupancyRate = serializers.FloatField(
        help_text="occupiedBeds / beds, 4 decimals; 0 without beds."
    )


class DepartmentOccupancySerializer(OccupancySerializer):
    byType = serializers.DictField(child=BedCountsSerializer())
    byStatus = counts_field("Rooms per status.")


class RoomOccupancySerializer(serializers.Serializer):
    totals = OccupancySerializer()
    byDepartment = by_department(DepartmentOccupancySerializer())


METRIC = MetricDefinition(
    "roomOccupancy",
    Tier.CRITICAL,
    ("rooms",),
    data=RoomOccupancySerializer,
    tile=Tile("Bed occupancy", "now", kind="occupancy"),
)

TYPES = ("ward", "icu", "er", "or", "consult")
STATUSES = ("available", "occupied", "cleaning", "maintenance")
COUNTS = ("rooms", "beds", "occupiedBeds")
COLLECTION = "rooms"
WINDOWED, VALUES = False, 2
# Group: (department, type, status). Values: (capacity, occupiedBeds), summed.
FIELDS = ("isActive", "departmentId", "type", "status", "capacity", "occupiedBeds")
MATCH = ACTIVE
PIPELINE = [
    {"$match": MATCH},
    {
        "$group": {
            "_id": {"d": "$departmentId", "t": "$type", "s": "$status"},
            "rooms": {"$sum": 1},
            "beds": {"$sum": "$capacity"},
            "occupiedBeds": {"$sum": "$occupiedBeds"},
        }
    },
]


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department the contract's department entry (rooms, beds, rate, byType, byStatus)."""
    return from_groups(
        (
            (row["_id"].get("d"), row["_id"].get("t"), row["_id"].get("s")),
            (row["rooms"], row["beds"], row["occupiedBeds"]),
        )
        for row in db.rooms.aggregate(PIPELINE)
    )


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    if not active(doc):
        return None
    key = (department_of(doc.get("departmentId")), label(doc.get("type")), label(doc.get("status")))
    return key, (number(doc.get("capacity")), number(doc.get("occupiedBeds")))


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    """The base value from grouped rows: ((department, type, status), (rooms, beds, occupied))."""
    parts: dict[str | None, dict] = {}
    for (department, room_type, status), row in grouped:
        part = parts.get(department_of(department))
        if part is None:
            part = parts[department_of(department)] = {**_zeros(), "byType": {}, "byStatus": {}}
        counts = {name: int(n) for name, n in zip(COUNTS, row, strict=True)}
        by_type = part["byType"].setdefault(label(room_type), _zeros())
        for name, n in counts.items():
            part[name] += n
            by_type[name] += n
        count_into(part["byStatus"], label(status), counts["rooms"])
    return base_value({code: _department_entry(part) for code, part in parts.items()})


def project(base: dict, scope: Scope) -> dict:
    by_department = dict(parts_in(base, scope))
    totals = {name: sum(entry[name] for entry in by_department.values()) for name in COUNTS}
    return {"totals": {**totals, "occupancyRate": rate(totals)}, "byDepartment": by_department}


def rate(counts: dict) -> float:
    """occupiedBeds / beds, 4 decimals; 0 without beds."""
    return round(counts["occupiedBeds"] / counts["beds"], 4) if counts["beds"] else 0.0


def _zeros() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


def _department_entry(part: dict) -> dict:
    by_type = {name: part["byType"].get(name) or _zeros() for name in TYPES}
    by_type.update({name: c for name, c in part["byType"].items() if name not in by_type})
    return {
        **{name: part[name] for name in COUNTS},
        "occupancyRate": rate(part),
        "byType": by_type,
        "byStatus": with_every(part["byStatus"], STATUSES),
    }
