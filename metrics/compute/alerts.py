"""emergencyAlerts: active emergency workflows not yet resolved, newest first, at most 50 listed.

The base keeps, per department, the full count and the newest 50, which is
enough to list the newest 50 of any set of departments exactly.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from typing import Any

from metrics.models import AlertAcknowledgement
from metrics.scope import Scope
from metrics.values import iso_utc

from .parts import ACTIVE, base_value, department_of, group_rows, id_text, parts_in

LISTED = 50
# SQLite caps the parameters of one query; acknowledgements are read in chunks.
_ACK_CHUNK = 500

PIPELINE = [
    {"$match": {**ACTIVE, "priority": "emergency", "resolvedAt": None}},
    {"$sort": {"startedAt": -1, "_id": -1}},
    {"$project": {"patientId": 1, "departmentId": 1, "stage": 1, "startedAt": 1}},
    # $$ROOT, not a {field: "$field"} object: the embedded store drops such an
    # object from $push when one of its fields is missing.
    {"$group": {"_id": "$departmentId", "total": {"$sum": 1}, "alerts": {"$push": "$$ROOT"}}},
    {"$project": {"total": 1, "alerts": {"$slice": ["$alerts", LISTED]}}},
]


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {total, alerts: [newest 50]}, acknowledgements merged in."""

    def add(part: dict, row: dict) -> None:
        part["total"] += row["total"]
        part["alerts"] = newest(part["alerts"] + [_alert(doc) for doc in row["alerts"]])

    parts = group_rows(db.workflows.aggregate(PIPELINE), lambda: {"total": 0, "alerts": []}, add)
    _merge_acknowledgements([alert for part in parts.values() for alert in part["alerts"]])
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


def _merge_acknowledgements(alerts: list[dict]) -> None:
    by_id = {alert["id"]: alert for alert in alerts}
    ids = sorted(by_id)
    for offset in range(0, len(ids), _ACK_CHUNK):
        acknowledgements = AlertAcknowledgement.objects.filter(
            alert_id__in=ids[offset : offset + _ACK_CHUNK]
        ).values_list("alert_id", "acknowledged_by_username", "acknowledged_at")
        for alert_id, username, moment in acknowledgements:
            by_id[alert_id]["acknowledgedBy"] = username
            by_id[alert_id]["acknowledgedAt"] = iso_utc(moment)
