"""revenue: bills in the hospital's currency paid today, and every pending bill."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from metrics.scope import Scope
from metrics.timerange import day_bounds

from .parts import ACTIVE, base_value, group_rows, parts_in


def compute(db: Any, now: dt.datetime) -> dict:
    """Base: per department {paidTodayCents, pendingCents}, and the currency."""
    start, end = day_bounds(now)
    currency = settings.HOSPITAL_CURRENCY
    rows = db.bills.aggregate(
        [
            {
                "$match": {
                    **ACTIVE,
                    "currency": currency,
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

    def add(part: dict, row: dict) -> None:
        field = "paidTodayCents" if row["_id"].get("s") == "paid" else "pendingCents"
        part[field] += int(row["cents"])

    parts = group_rows(rows, lambda: {"paidTodayCents": 0, "pendingCents": 0}, add)
    return base_value(parts, currency=currency)


def project(base: dict, scope: Scope) -> dict:
    selected = parts_in(base, scope)
    return {
        "currency": base["currency"],
        "paidTodayCents": sum(part["paidTodayCents"] for _, part in selected),
        "pendingCents": sum(part["pendingCents"] for _, part in selected),
        "byDepartment": {code: part["paidTodayCents"] for code, part in selected},
    }
