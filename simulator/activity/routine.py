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

from .common import ACTIVE, UTC

# Routine writes are most of a busy simulator's changes, and reading every open pathway to choose
# one costs the embedded store (which scans) far more than the write itself: each kind chooses
# among the ids it read at most a minute of hospital time ago. The write's own filter checks the
# choice again, so a document that no longer qualifies is never written; it only makes the next
# write read afresh.
REREAD_AFTER = dt.timedelta(minutes=1)
_chosen_from: dict[tuple, tuple[dt.datetime, list]] = {}


def _write_one(
    collection: Any, filter: dict, update: dict, rng: random.Random, now: dt.datetime
) -> int:
    """Apply `update` to one random document matching `filter`; the number modified (0 or 1)."""
    key = (id(collection.database.client), collection.full_name, repr(filter))
    read = _chosen_from.get(key)
    if read is None or not read[0] <= now < read[0] + REREAD_AFTER:
        read = _chosen_from[key] = (
            now,
            [doc["_id"] for doc in collection.find(filter, {"_id": 1})],
        )
    if not read[1]:
        return 0
    modified = collection.update_one({**filter, "_id": rng.choice(read[1])}, update).modified_count
    if not modified:
        _chosen_from.pop(key, None)  # it left the filter (or the store is another): read again
    return modified


def note_observation(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A nurse records vital signs on an open, non-emergency pathway."""
    open_flow = {**ACTIVE, "stage": {"$ne": "done"}, "priority": {"$ne": "emergency"}}
    t = now.astimezone(UTC)
    update = {"$set": {"lastObservationAt": t}, "$inc": {"observations": 1}}
    return _write_one(db.workflows, open_flow, update, rng, now)


def scan_badge(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """Someone at work badges through a door."""
    at_work = {**ACTIVE, "status": {"$in": ["on_duty", "on_break"]}}
    return _write_one(db.staff, at_work, {"$set": {"lastSeenAt": now.astimezone(UTC)}}, rng, now)


def check_room(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A room is checked on a round (supplies, equipment)."""
    return _write_one(db.rooms, ACTIVE, {"$set": {"lastCheckedAt": now.astimezone(UTC)}}, rng, now)
