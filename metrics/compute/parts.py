"""The shape every live base value shares: one part per department, plus the unassigned part.

A base value is `{"departments": {code: part}, "unassigned": part | None, ...}`,
JSON-ready. Documents without a departmentId belong to no department: they
count in the all-departments scope only, reported under "unassigned".
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from metrics.scope import Scope

UNASSIGNED = "unassigned"
ACTIVE = {"isActive": True}


def department_of(value: Any) -> str | None:
    return None if value is None else sys.intern(str(value))


def label(value: Any) -> str:
    """A category value as a JSON key (a missing status or role reads "unknown")."""
    return "unknown" if value is None else sys.intern(str(value))


def active(doc: dict) -> bool:
    """The `{"isActive": True}` condition, in Python."""
    return doc.get("isActive") is True


def number(value: Any) -> int | float:
    """What `$sum` adds for a field: its value if it is a number, else nothing."""
    return value if type(value) is int or type(value) is float else 0


@dataclass(frozen=True)
class DayWindow:
    """Local calendar days in the hospital's zone, from `first` on (earlier ones are past).

    A stored instant is inside timerange.day_bounds(now) exactly when its local
    date is now's local date, so "today" is a lookup by date, whatever the length
    of the day (23, 24 or 25 hours).
    """

    zone: ZoneInfo
    first: dt.date

    def date_of(self, moment: dt.datetime) -> dt.date:
        if moment.tzinfo is None:  # stores hand dates back as naive UTC
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(self.zone).date()

    def day(self, moment: Any) -> dt.date | None:
        """The local date of a stored date, if it is a date of this window (else None)."""
        if not isinstance(moment, dt.datetime):
            return None
        day = self.date_of(moment)
        return day if day >= self.first else None


def id_text(value: Any) -> str | None:
    return None if value is None else str(value)


def base_value(parts: dict[str | None, Any], **extra: Any) -> dict:
    departments = {code: part for code, part in parts.items() if code is not None}
    return {"departments": departments, "unassigned": parts.get(None), **extra}


def parts_in(base: dict, scope: Scope) -> list[tuple[str, Any]]:
    """The (key, part) pairs a scope covers, in a stable order."""
    selected = [
        (code, base["departments"][code])
        for code in sorted(base["departments"])
        if scope.includes(code)
    ]
    if scope.is_all and base.get("unassigned") is not None:
        selected.append((UNASSIGNED, base["unassigned"]))
    return selected


def count_into(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def with_every(counts: dict[str, int], values: Iterable[str]) -> dict[str, int]:
    """Every contract value (zeros included), then any other value seen in the data."""
    filled = {value: counts.get(value, 0) for value in values}
    filled.update({key: n for key, n in counts.items() if key not in filled})
    return filled


def summed(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, n in part.items():
            count_into(total, key, n)
    return total
