"""Rooms turning over and refitted, bills raised and settled, shifts, and record keeping."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ..hospital import WARD_CAPACITIES, room_equipment
from .common import ACTIVE, UTC, aware, new_bill, pick, transition

SHORT_STAY_TYPES = ["er", "or", "consult"]


# --- rooms --------------------------------------------------------------------------------------
def turn_over_room(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A room moves on: cleaned, repaired, taken by a short stay (ER, OR, consult) or vacated."""
    t = now.astimezone(UTC)
    fields = ("status", "capacity", "occupiedBeds")
    rooms = list(
        db.rooms.find(
            {
                **ACTIVE,
                "$or": [
                    {"status": {"$in": ["cleaning", "maintenance"]}},
                    {"type": {"$in": SHORT_STAY_TYPES}},
                ],
            },
            dict.fromkeys(("type", *fields), 1),
        )
    )
    waiting = [room for room in rooms if room["status"] in ("cleaning", "maintenance")]
    short_stay = [room for room in rooms if room["type"] in SHORT_STAY_TYPES]
    # Cleaners get to a room as often as short stays start or end, so few rooms wait long.
    first, second = (waiting, short_stay) if rng.random() < 0.6 else (short_stay, waiting)
    if not (first or second):
        return 0
    room = rng.choice(first or second)
    status, beds = room["status"], 0
    if status in ("cleaning", "maintenance"):
        new = "available"
    elif status == "occupied":
        new = "cleaning"
    elif rng.random() < 0.05:
        new = "maintenance"
    else:
        new, beds = "occupied", rng.randint(1, room["capacity"])
    return db.rooms.update_one(
        {"_id": room["_id"], "status": status, "occupiedBeds": room["occupiedBeds"]},
        {"$set": {"status": new, "occupiedBeds": beds, "updatedAt": t}},
    ).modified_count


def replace_room(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """An empty room is refitted: its document is replaced whole (new equipment, maybe beds)."""
    t = now.astimezone(UTC)
    candidates = list(
        db.rooms.find(
            {**ACTIVE, "status": {"$in": ["available", "maintenance"]}, "occupiedBeds": 0}
        )
    )
    if not candidates:
        return 0
    room = rng.choice(candidates)
    refitted = {key: aware(value) for key, value in room.items() if key != "_id"}
    refitted.update(
        status="available", occupiedBeds=0, equipment=room_equipment(rng), refittedAt=t, updatedAt=t
    )
    if room["type"] == "ward":
        refitted["capacity"] = rng.choice(WARD_CAPACITIES)
    return db.rooms.replace_one(
        {"_id": room["_id"], "status": room["status"], "occupiedBeds": 0}, refitted
    ).modified_count


# --- bills --------------------------------------------------------------------------------------
def create_bill(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A charge during a stay: pharmacy, laboratory, imaging or a procedure."""
    patient = pick(db.patients, {**ACTIVE, "status": "admitted"}, rng, "departmentId")
    if patient is None:
        return 0
    kind = rng.choice(("Pharmacy", "Laboratory", "Imaging", "Procedure"))
    cents = rng.randint(50_00, 3000_00)
    db.bills.insert_one(new_bill(rng, patient, now.astimezone(UTC), cents, kind, 0))
    return 1


def pay_bill(db: Any, rng: random.Random, now: dt.datetime) -> int:
    return transition(
        db.bills, rng, ACTIVE, "status", "pending", "paid", now.astimezone(UTC), "paidAt"
    )


def void_bill(db: Any, rng: random.Random, now: dt.datetime) -> int:
    return transition(
        db.bills, rng, ACTIVE, "status", "pending", "void", now.astimezone(UTC), "voidedAt"
    )


# --- deletions ----------------------------------------------------------------------------------
def soft_delete(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A clerk removes a duplicate registration, a cancelled appointment or a void bill."""
    t = now.astimezone(UTC)
    duplicate = {"status": "outpatient", "registeredAt": {"$gte": t - dt.timedelta(days=1)}}
    targets: list[tuple[str, dict]] = [
        ("patients", duplicate),
        ("appointments", {"status": "cancelled"}),
        ("bills", {"status": "void"}),
    ]
    rng.shuffle(targets)
    for name, filter in targets:
        doc = pick(db[name], {**ACTIVE, **filter}, rng)
        if doc is None:
            continue
        removed = {"$set": {"isActive": False, "deletedAt": t}}
        changes = db[name].update_one({"_id": doc["_id"], **ACTIVE}, removed).modified_count
        if name == "patients" and changes:
            # A duplicate's pathway goes with it.
            changes += db.workflows.update_many(
                {"patientId": doc["_id"], **ACTIVE}, removed
            ).modified_count
        return changes
    return 0


def hard_delete(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """The nightly purge, a little at a time: a soft-deleted document (or a cancellation) goes."""
    targets: list[tuple[str, dict]] = [
        ("appointments", {"isActive": False}),
        ("bills", {"isActive": False}),
        ("patients", {"isActive": False}),
        ("appointments", {"status": "cancelled"}),
    ]
    for name, filter in targets:
        doc = pick(db[name], filter, rng)
        if doc is not None:
            return db[name].delete_one({"_id": doc["_id"]}).deleted_count
    return 0
