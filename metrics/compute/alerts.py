"""emergencyAlerts: active emergency workflows not yet resolved, newest first, at most 50 listed.

The base keeps, per department, the full count and the newest 50, which is
enough to list the newest 50 of any set of departments exactly.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import sys
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope
from metrics.values import iso_utc

from .acknowledgements import Acknowledgements
from .documents import ACTIVE, DayWindow, active, department_of, id_text
from .parts import base_value, parts_in


class AlertSerializer(serializers.Serializer):
    id = serializers.CharField()
    patientId = serializers.CharField(allow_null=True)
    departmentId = serializers.CharField(allow_null=True)
    stage = serializers.CharField(allow_null=True)
    startedAt = serializers.DateTimeField(allow_null=True)
    acknowledgedBy = serializers.CharField(required=False)
    acknowledgedAt = serializers.DateTimeField(required=False)


class EmergencyAlertsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Every open emergency in scope.")
    alerts = AlertSerializer(many=True, help_text="Newest first, at most 50.")


METRIC = MetricDefinition(
    "emergencyAlerts",
    Tier.CRITICAL,
    ("workflows",),
    data=EmergencyAlertsSerializer,
    tile=Tile("Emergency alerts", "open now", kind="alerts"),
)
# Rebuilt when an alert is acknowledged (the acknowledgements are merged into the value).
ACKNOWLEDGED = True
LISTED = 50
COLLECTION = "workflows"
WINDOWED = False
# Group: the department. Value: its open alerts, newest first (the newest 50 and the count).
MATCH = {**ACTIVE, "priority": "emergency", "resolvedAt": None}
FIELDS = ("isActive", "priority", "resolvedAt", "patientId", "departmentId", "stage", "startedAt")
PIPELINE = [
    {"$match": MATCH},
    {"$sort": {"startedAt": -1, "_id": -1}},
    {"$project": {"patientId": 1, "departmentId": 1, "stage": 1, "startedAt": 1}},
    # $$ROOT, not a {field: "$field"} object: the embedded store drops such an
    # object from $push when one of its fields is missing.
    {"$group": {"_id": "$departmentId", "total": {"$sum": 1}, "alerts": {"$push": "$$ROOT"}}},
    {"$project": {"total": 1, "alerts": {"$slice": ["$alerts", LISTED]}}},
]


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {total, alerts: [newest 50]}, acknowledgements merged in."""
    return from_groups(
        (
            (row["_id"], row["total"], [_alert(doc) for doc in row["alerts"]])
            for row in db.workflows.aggregate(PIPELINE)
        ),
        Acknowledgements(),
    )


def contribution(doc: dict, window: DayWindow) -> tuple[str | None, tuple, dict] | None:
    """(department, its place in the newest-first order, the alert), for an open emergency."""
    if not active(doc) or doc.get("priority") != "emergency" or doc.get("resolvedAt") is not None:
        return None
    alert = _alert(doc)
    return alert["departmentId"], order(alert), alert


def from_groups(
    grouped: Iterable[tuple[Any, int, list[dict]]], acknowledgements: Acknowledgements | None
) -> dict:
    """The base value from grouped rows: (department, open alerts, its newest alerts).

    The alerts are copied; acknowledgements (from the dashboard's database) are
    merged into the copies, unless `acknowledgements` is None.
    """
    parts: dict[str | None, dict] = {}
    for department, total, alerts in grouped:
        part = parts.setdefault(department_of(department), {"total": 0, "alerts": []})
        part["total"] += total
        part["alerts"] = newest(part["alerts"] + [dict(alert) for alert in alerts])
    if acknowledgements is not None:
        acknowledgements.merge([alert for part in parts.values() for alert in part["alerts"]])
    return base_value(parts)


def project(base: dict, scope: Scope) -> dict:
    selected = [part for _, part in parts_in(base, scope)]
    merged = heapq.merge(*(part["alerts"] for part in selected), key=order, reverse=True)
    return {
        "total": sum(part["total"] for part in selected),
        "alerts": list(itertools.islice(merged, LISTED)),
    }


def order(alert: dict) -> tuple[str, str]:
    """Newest first: startedAt (fixed-width ISO sorts as time does), then id, both descending."""
    return alert["startedAt"] or "", alert["id"]


def newest(alerts: list[dict]) -> list[dict]:
    return sorted(alerts, key=order, reverse=True)[:LISTED]


def _alert(doc: dict) -> dict:
    started = doc.get("startedAt")
    return {
        "id": str(doc["_id"]),
        "patientId": id_text(doc.get("patientId")),
        "departmentId": department_of(doc.get("departmentId")),
        "stage": doc.get("stage"),
        "startedAt": iso_utc(started) if isinstance(started, dt.datetime) else None,
    }


# --- hooks (metrics/definition.py) ----------------------------------------------------------------
ACKNOWLEDGEMENT_FIELDS = ("acknowledgedBy", "acknowledgedAt")


def new_state(window: DayWindow) -> Any:
    """Open alerts in newest-first order per department (metrics/incremental/alerts.py)."""
    # Imported when asked: metrics.incremental reads the catalogue, which imports this module.
    from metrics.incremental.alerts import AlertState

    return AlertState(sys.modules[__name__], window)


def urgent(event: dict) -> bool:
    """Does this change raise or resolve an emergency? Then it is broadcast at once."""
    if event["operationType"] in ("delete", "replace", "drop"):
        return True
    full = event.get("fullDocument") or {}
    if full.get("priority") == "emergency":
        return True
    touched = set((event.get("updateDescription") or {}).get("updatedFields", {}))
    touched |= set((event.get("updateDescription") or {}).get("removedFields", []))
    return bool(touched & {"priority", "resolvedAt", "isActive"})


def comparable(base: dict) -> dict:
    """The value without acknowledgement fields: they live in the dashboard's own database and
    are merged into the incremental and the recounted value alike, so a verification leaves
    them out of both."""

    def plain(part: dict | None) -> dict | None:
        if part is None:
            return None
        listed = [
            {k: v for k, v in alert.items() if k not in ACKNOWLEDGEMENT_FIELDS}
            for alert in part["alerts"]
        ]
        return {**part, "alerts": listed}

    return {
        **base,
        "departments": {code: plain(part) for code, part in base["departments"].items()},
        "unassigned": plain(base.get("unassigned")),
    }
