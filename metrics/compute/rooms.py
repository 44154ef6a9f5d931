"""roomOccupancy: active rooms, their beds and occupied beds, per department, type and status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.scope import Scope

from .parts import ACTIVE, base_value, count_into, group_rows, label, parts_in, with_every

TYPES = ("ward", "icu", "er", "or", "consult")
STATUSES = ("available", "occupied", "cleaning", "maintenance")
COUNTS = ("rooms", "beds", "occupiedBeds")


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department the contract's department entry (rooms, beds, rate, byType, byStatus)."""
    rows = db.rooms.aggregate(
        [
            {"$match": ACTIVE},
            {
                "$group": {
                    "_id": {"d": "$departmentId", "t": "$type", "s": "$status"},
                    "rooms": {"$sum": 1},
                    "beds": {"$sum": "$capacity"},
                    "occupiedBeds": {"$sum": "$occupiedBeds"},
                }
            },
        ]
    )

    def add(part: dict, row: dict) -> None:
        counts = {name: int(row[name]) for name in COUNTS}
        room_type = part["byType"].setdefault(label(row["_id"].get("t")), _zeros())
        for name, n in counts.items():
            part[name] += n
            room_type[name] += n
        count_into(part["byStatus"], label(row["_id"].get("s")), counts["rooms"])

    parts = group_rows(rows, lambda: {**_zeros(), "byType": {}, "byStatus": {}}, add)
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
