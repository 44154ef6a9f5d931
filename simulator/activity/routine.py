"""Routine record keeping: the many small writes a hospital database sees that change no figure.

Observations noted on a care pathway, badge scans of staff at work, rooms
checked on a round. They fill the simulator's rate (`--rate`) between the
hospital's events, so a high rate means a busy database, not an implausible
hospital: none of these fields is counted by any metric, and emergencies are
left alone (a change to one would make the listener flush at once).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from .common import ACTIVE, UTC, pick


def note_observation(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A nurse records vital signs on an open, non-emergency pathway."""
    open_flow = {**ACTIVE, "stage": {"$ne": "done"}, "priority": {"$ne": "emergency"}}
    flow = pick(db.workflows, open_flow, rng)
    if flow is None:
        return 0
    t = now.astimezone(UTC)
    return db.workflows.update_one(
        {"_id": flow["_id"], "priority": {"$ne": "emergency"}},
        {"$set": {"lastObservationAt": t}, "$inc": {"observations": 1}},
    ).modified_count


def scan_badge(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """Someone at work badges through a door."""
    person = pick(db.staff, {**ACTIVE, "status": {"$in": ["on_duty", "on_break"]}}, rng)
    if person is None:
        return 0
    return db.staff.update_one(
        {"_id": person["_id"]}, {"$set": {"lastSeenAt": now.astimezone(UTC)}}
    ).modified_count


def check_room(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A room is checked on a round (supplies, equipment)."""
    room = pick(db.rooms, ACTIVE, rng)
    if room is None:
        return 0
    return db.rooms.update_one(
        {"_id": room["_id"]}, {"$set": {"lastCheckedAt": now.astimezone(UTC)}}
    ).modified_count
