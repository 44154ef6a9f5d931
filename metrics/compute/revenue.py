"""revenue: bills in the hospital's currency paid today, and every pending bill."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from rest_framework import serializers

from metrics.definition import MetricDefinition, Tier, Tile
from metrics.scope import Scope
from metrics.timerange import day_bounds

from .documents import ACTIVE, DayWindow, active, department_of, label, number
from .parts import base_value, parts_in
from .shapes import by_department


class RevenueSerializer(serializers.Serializer):
    currency = serializers.CharField()
    paidTodayCents = serializers.IntegerField()
    pendingCents = serializers.IntegerField()
    byDepartment = by_department(help_text="Department code -> cents paid today.")


METRIC = MetricDefinition(
    "revenue",
    Tier.STANDARD,
    ("bills",),
    data=RevenueSerializer,
    tile=Tile("Revenue", "today", kind="revenue"),
    carries_revenue=True,
)

COLLECTION = "bills"
# Group: (local day of paidAt for a paid bill, None for a pending one; department; status).
# Value: amountCents, summed. The value is the pending groups and today's paid ones.
FIELDS = ("isActive", "departmentId", "status", "currency", "paidAt", "amountCents")
WINDOWED, VALUES = True, 1
_PARTS = {"paid": "paidTodayCents", "pending": "pendingCents"}


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {paidTodayCents, pendingCents}, and the currency."""
    start, end = day_bounds(now)
    grouped = db.bills.aggregate(
        [
            {
                "$match": {
                    **ACTIVE,
                    "currency": settings.HOSPITAL_CURRENCY,
                    "$or": [
                        {"status": "paid", "paidAt": {"$gte": start, "$lt": end}},
                        {"status": "pending"},
                    ],
                }
            },
            {
                "$group": {
                    "_id": {"d": "$departmentId", "s": "$status"},
                    "cents": {"$sum": "$amountCents"},
                }
            },
        ]
    )
    return from_groups(
        ((row["_id"].get("d"), row["_id"].get("s")), (None, row["cents"])) for row in grouped
    )


def scan_match(window: DayWindow) -> dict:
    """Pending bills, and bills paid on the window's days."""
    start, _ = day_bounds(dt.datetime.combine(window.first, dt.time(12), tzinfo=window.zone))
    return {
        **ACTIVE,
        "currency": settings.HOSPITAL_CURRENCY,
        "$or": [{"status": "paid", "paidAt": {"$gte": start}}, {"status": "pending"}],
    }


def contribution(doc: dict, window: DayWindow) -> tuple[Any, tuple] | None:
    if not active(doc) or doc.get("currency") != settings.HOSPITAL_CURRENCY:
        return None
    status = doc.get("status")
    if status == "pending":
        day = None
    elif status == "paid":
        day = window.day(doc.get("paidAt"))
        if day is None:
            return None
    else:
        return None
    key = (day, department_of(doc.get("departmentId")), label(status))
    return key, (number(doc.get("amountCents")),)


def rows(groups: dict, window: DayWindow, now: dt.datetime) -> Iterable[tuple[Any, tuple]]:
    """Pending groups and today's paid ones, as the aggregation groups them."""
    today = window.date_of(now)
    return ((key[1:], counts) for key, counts in groups.items() if key[0] in (None, today))


def from_groups(grouped: Iterable[tuple[Any, tuple]]) -> dict:
    """The base value from grouped rows: ((department, status), (count, cents))."""
    parts: dict[str | None, dict] = {}
    for (department, status), counts in grouped:
        part = parts.setdefault(department_of(department), dict.fromkeys(_PARTS.values(), 0))
        part[_PARTS["paid" if status == "paid" else "pending"]] += int(counts[1])
    return base_value(parts, currency=settings.HOSPITAL_CURRENCY)


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    return {
        "currency": base["currency"],
        "paidTodayCents": sum(part["paidTodayCents"] for _, part in selected),
        "pendingCents": sum(part["pendingCents"] for _, part in selected),
        "byDepartment": {code: part["paidTodayCents"] for code, part in selected},
    }
