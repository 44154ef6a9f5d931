"""Reading stored documents as the metrics' aggregations read them, in Python.

The incremental state (metrics/incremental/) folds each changed document with these, so they
must agree with the `$match` and `$group` stages of the modules beside this one.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

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
