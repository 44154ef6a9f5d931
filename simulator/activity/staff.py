"""Shifts: people clock in and out as the day and night shifts change, and take breaks.

How often each move happens is the day plan's business (`simulator.day`):
more clock in before seven in the morning, more clock out after seven in the
evening. Each event moves one person and stamps `lastSeenAt`.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .common import ACTIVE, UTC, pick


def _move(db: Any, rng: random.Random, now: dt.datetime, old: str, new: str) -> int:
    person = pick(db.staff, {**ACTIVE, "status": old}, rng)
    if person is None:
        return 0
    return db.staff.update_one(
        {"_id": person["_id"], "status": old},
        {"$set": {"status": new, "lastSeenAt": now.astimezone(UTC)}},
    ).modified_count


def clock_in(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """Someone starts their shift."""
    return _move(db, rng, now, "off_duty", "on_duty")


def clock_out(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """Someone's shift ends (from the ward, or straight from a break)."""
    old = "on_break" if rng.random() < 0.1 else "on_duty"
    return _move(db, rng, now, old, "off_duty") or _move(db, rng, now, "on_duty", "off_duty")


def take_break(db: Any, rng: random.Random, now: dt.datetime) -> int:
    return _move(db, rng, now, "on_duty", "on_break")


def end_break(db: Any, rng: random.Random, now: dt.datetime) -> int:
    return _move(db, rng, now, "on_break", "on_duty")
