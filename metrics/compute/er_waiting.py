"""erWaiting: patients waiting in the emergency department to be seen, and the longest wait.

Waiting: an active patient of an emergency department (`DEPARTMENTS`) registered as an
outpatient, not yet seen by a clinician (`seenAt` unset) nor discharged. The value moves with
time alone (the longest wait grows), so the metric ticks: the listener rebuilds it every
`tick_seconds` (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope
from metrics.values import iso_utc

from .documents import ACTIVE, DayWindow, active, department_of, label
from .parts import base_value, parts_in, with_every
from .shapes import by_department, counts_field

# The department codes of the emergency department.
DEPARTMENTS = ("ER",)
TRIAGE_LEVELS = ("1", "2", "3", "4", "5")


class ErWaitingSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Patients waiting to be seen.")
    longestWaitSeconds = serializers.IntegerField(
        help_text="Since the registration of the one waiting longest; 0 when nobody waits."
    )
    oldestRegisteredAt = serializers.DateTimeField(allow_null=True)
    byTriage = counts_field('Triage level ("1" most urgent .. "5"), zeros included.')
    byDepartment = by_department()


METRIC = MetricDefinition(
    "erWaiting",
    Tier.CRITICAL,
    ("patients",),
    data=ErWaitingSerializer,
    tick_seconds=15.0,
    tile=Tile(
        "Emergency waiting room",
        "now",
        options={
            "headline": {"field": "total", "caption": "waiting to be seen"},
            "facts": [
                {"field": "longestWaitSeconds", "label": "Longest wait", "format": "seconds"}
            ],
            "bars": [
                {
                    "field": "byTriage",
                    "label": "Waiting by triage level",
                    "order": list(TRIAGE_LEVELS),
                    "labels": {
                        "1": "1 Resuscitation",
                        "2": "2 Emergent",
                        "3": "3 Urgent",
                        "4": "4 Less urgent",
                        "5": "5 Non-urgent",
                    },
                    "tone": "amber",
                }
            ],
        },
    ),
)
MATCH = {
    **ACTIVE,
    "departmentId": {"$in": list(DEPARTMENTS)},
    "status": "outpatient",
    "seenAt": None,
    "dischargedAt": None,
}
FIELDS = (
    "isActive",
    "departmentId",
    "status",
    "seenAt",
    "dischargedAt",
    "triageLevel",
    "registeredAt",
)


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {byTriage: {level: n}, oldest: ISO registeredAt | None}, and asOf."""
    grouped = db.patients.aggregate(
        [
            {"$match": MATCH},
            {
                "$group": {
                    "_id": {"d": "$departmentId", "t": "$triageLevel"},
                    "n": {"$sum": 1},
                    "oldest": {"$min": "$registeredAt"},
                }
            },
        ]
    )
    return from_groups(
        (
            (row["_id"].get("d"), row["_id"].get("t"), row["n"], row.get("oldest"))
            for row in grouped
        ),
        now,
    )


def new_state(window: DayWindow) -> Any:
    """Waiting patients are few: each one's entry is kept (metrics/incremental/listed.py)."""
    # Imported when asked: metrics.incremental reads the catalogue, which imports this module.
    from metrics.incremental.listed import ListedState

    return ListedState(sys.modules[__name__], window)


def contribution(doc: dict, window: DayWindow) -> tuple | None:
    """(department, triage level, registeredAt) of a waiting patient (the $match in Python)."""
    if (
        not active(doc)
        or doc.get("departmentId") not in DEPARTMENTS
        or doc.get("status") != "outpatient"
        or doc.get("seenAt") is not None
        or doc.get("dischargedAt") is not None
    ):
        return None
    return doc.get("departmentId"), doc.get("triageLevel"), _instant(doc.get("registeredAt"))


def from_listed(entries: Iterable[tuple], now: dt.datetime) -> dict:
    """The base value from the waiting patients' entries, as `compute` groups them."""
    grouped: dict[tuple, list] = {}
    for department, triage, registered in entries:
        row = grouped.setdefault((department, triage), [0, None])
        row[0] += 1
        if registered is not None and (row[1] is None or registered < row[1]):
            row[1] = registered
    return from_groups(((d, t, n, oldest) for (d, t), (n, oldest) in grouped.items()), now)


def from_groups(grouped: Iterable[tuple], now: dt.datetime) -> dict:
    """Rows (department, triage level, patients, earliest registeredAt) -> the base value."""
    parts: dict[str | None, dict] = {}
    for department, triage, count, oldest in grouped:
        part = parts.setdefault(department_of(department), {"byTriage": {}, "oldest": None})
        level = label(triage)
        part["byTriage"][level] = part["byTriage"].get(level, 0) + count
        instant = _instant(oldest)
        if instant is not None and (part["oldest"] is None or instant < part["oldest"]):
            part["oldest"] = instant
    for part in parts.values():
        part["oldest"] = None if part["oldest"] is None else iso_utc(part["oldest"])
    # The moment the waits are measured at (to the second), only while someone waits.
    as_of = iso_utc(now.replace(microsecond=0)) if parts else None
    return base_value(parts, asOf=as_of)


def project(base: dict, scope: Scope) -> dict:
    selected = [part for _, part in parts_in(base, scope)]
    by_triage: dict[str, int] = {}
    for part in selected:
        for level, n in part["byTriage"].items():
            by_triage[level] = by_triage.get(level, 0) + n
    oldest = min((part["oldest"] for part in selected if part["oldest"]), default=None)
    waited = 0
    if oldest is not None and base.get("asOf"):
        since = dt.datetime.fromisoformat(oldest)
        waited = max(0, int((dt.datetime.fromisoformat(base["asOf"]) - since).total_seconds()))
    return {
        "total": sum(by_triage.values()),
        "longestWaitSeconds": waited,
        "oldestRegisteredAt": oldest,
        "byTriage": with_every(by_triage, TRIAGE_LEVELS),
        "byDepartment": {
            code: sum(part["byTriage"].values()) for code, part in parts_in(base, scope)
        },
    }


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
