"""Time in the hospital's time zone: "today", whole local hours, and the historical range rules.

Every boundary is computed here, in Python, and handed to MongoDB as a UTC
instant, so the real server and the embedded store answer the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

MAX_RANGE = dt.timedelta(days=31)
FUTURE_SLACK = dt.timedelta(hours=1)
HOUR = dt.timedelta(hours=1)
# Far enough from datetime's limits that local conversions cannot overflow.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
# "2026-03-08T00:00:00 05:00": a "+" that a query string turned into a space.
_SPACED_OFFSET = re.compile(r"(.+T[0-9:.,]+) ([0-9]{2}(?::?[0-9]{2})?)")


class TimeRangeError(ValueError):
    """A rejected range; `code` is stable (REST 400 body and WebSocket error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def hospital_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the hospital's calendar day containing `now` (23, 24 or 25 hours long)."""
    zone = hospital_zone()
    today = (now or timezone.now()).astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def floor_hour(moment: dt.datetime) -> dt.datetime:
    """The start (UTC) of the local hour containing `moment`."""
    local = moment.astimezone(hospital_zone())
    return local.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def whole_hours(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) widened outward to whole local hours, in UTC."""
    last = floor_hour(end)
    return floor_hour(start), last if last == end else last + HOUR


def hour_boundaries(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every local hour start from `start` to `end` (both already whole hours), UTC, end included."""
    # Stepping in UTC keeps DST days right: 23 or 25 distinct hours, each one hour long.
    boundaries = [start]
    while boundaries[-1] < end:
        boundaries.append(boundaries[-1] + HOUR)
    return boundaries


def iso_local(moment: dt.datetime) -> str:
    """ISO 8601 with the hospital's offset at that instant."""
    return moment.astimezone(hospital_zone()).isoformat()


def parse_time_range(
    start: str | None, end: str | None, *, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """Validate a requested range; returns aware UTC datetimes or raises TimeRangeError.

    Both ends are ISO 8601 with an offset; start < end; at most 31 days; neither
    end more than an hour from now (the hour in progress may be asked for whole).
    """
    start_at = _parse(start, "start")
    end_at = _parse(end, "end")
    if start_at >= end_at:
        raise TimeRangeError("time_range_order", "start must be before end")
    if end_at - start_at > MAX_RANGE:
        raise TimeRangeError("time_range_too_long", "the range may cover at most 31 days")
    latest = (now or timezone.now()) + FUTURE_SLACK
    if start_at > latest:
        raise TimeRangeError("time_range_in_future", "start is more than an hour in the future")
    if end_at > latest:
        raise TimeRangeError("time_range_in_future", "end is more than an hour in the future")
    return start_at, end_at


def _parse(text: object, name: str) -> dt.datetime:
    if not isinstance(text, str) or not text.strip():
        raise TimeRangeError("invalid_time_range", f"{name} is required (ISO 8601 with an offset)")
    text = text.strip()
    if len(text) > 64:
        raise TimeRangeError("invalid_time_range", f"{name} is not an ISO 8601 date and time")
    spaced = _SPACED_OFFSET.fullmatch(text)
    if spaced:
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise TimeRangeError(
            "invalid_time_range", f"{name} is not an ISO 8601 date and time"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeRangeError("invalid_time_range", f"{name} needs an offset (Z or +HH:MM)")
    try:
        instant = moment.astimezone(dt.UTC)
    except OverflowError:
        instant = None
    if instant is None or not EARLIEST <= instant <= LATEST:
        raise TimeRangeError("invalid_time_range", f"{name} is out of the supported years")
    return instant
