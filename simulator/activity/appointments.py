"""Appointments booked, attended, missed or cancelled, and billed once seen."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ..history import PROFILES
from ..hospital import new_id
from ..visits import SLOTS, visit_fee
from .common import ACTIVE, UTC, new_bill, pick, transition


def _next_slot(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A 20-minute slot at least half an hour ahead today, or tomorrow once the day is over."""
    opening = now.replace(hour=8, minute=0, second=0, microsecond=0)
    soonest = now + dt.timedelta(minutes=30)
    first = max(0, -(-int((soonest - opening).total_seconds()) // (20 * 60)))  # rounded up
    if first < SLOTS:
        return opening + dt.timedelta(minutes=20 * rng.randrange(first, SLOTS))
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(8), now.tzinfo)
    return tomorrow + dt.timedelta(minutes=20 * rng.randrange(SLOTS))


def book_appointment(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A same-day booking (the next day's, after hours) with one of the department's clinicians."""
    codes = [code for code, profile in PROFILES.items() if profile.appointments]
    code = rng.choices(codes, [PROFILES[code].appointments for code in codes])[0]
    clinician = pick(
        db.staff, {**ACTIVE, "departmentId": code, "role": {"$in": ["doctor", "technician"]}}, rng
    )
    patient = pick(
        db.patients, {**ACTIVE, "departmentId": code, "status": {"$ne": "discharged"}}, rng
    ) or pick(db.patients, {**ACTIVE, "departmentId": code}, rng)
    if clinician is None or patient is None:
        return 0
    t = now.astimezone(UTC)
    db.appointments.insert_one(
        {
            "_id": new_id(rng, t),
            "patientId": patient["_id"],
            "departmentId": code,
            "staffId": clinician["_id"],
            "scheduledAt": _next_slot(rng, now).astimezone(UTC),
            "durationMinutes": 20,
            "status": "scheduled",
            "createdAt": t,
            "isActive": True,
        }
    )
    return 1


def check_in_appointment(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A patient arrives for an appointment due between half an hour ago and the next hour."""
    t = now.astimezone(UTC)
    window = {"$gte": t - dt.timedelta(minutes=30), "$lte": t + dt.timedelta(hours=1)}
    return transition(
        db.appointments,
        rng,
        {**ACTIVE, "scheduledAt": window},
        "status",
        "scheduled",
        "checked_in",
        t,
        "checkedInAt",
    )


def complete_appointment(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A checked-in patient whose time has come has been seen: completed and billed."""
    t = now.astimezone(UTC)
    due = {**ACTIVE, "status": "checked_in", "scheduledAt": {"$lte": t}}
    appointment = pick(db.appointments, due, rng, "patientId", "departmentId")
    if (
        appointment is None
        or not db.appointments.update_one(
            {"_id": appointment["_id"], "status": "checked_in"},
            {"$set": {"status": "completed", "completedAt": t}},
        ).modified_count
    ):
        return 0
    code = appointment["departmentId"]
    patient = {"_id": appointment["patientId"], "departmentId": code}
    kind = "Imaging" if code == "RAD" else "Consultation"
    bill = new_bill(rng, patient, t, visit_fee(rng, code), kind, 0.4)
    db.bills.insert_one({**bill, "appointmentId": appointment["_id"]})
    return 2


def miss_appointment(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A patient did not come (half an hour late), or cancels an upcoming appointment."""
    t = now.astimezone(UTC)
    no_show = ({**ACTIVE, "scheduledAt": {"$lt": t - dt.timedelta(minutes=30)}}, "no_show", None)
    cancel = ({**ACTIVE, "scheduledAt": {"$gt": t}}, "cancelled", "cancelledAt")
    options = [no_show, cancel] if rng.random() < 0.5 else [cancel, no_show]
    for filter, status, stamp in options:
        changed = transition(db.appointments, rng, filter, "status", "scheduled", status, t, stamp)
        if changed:
            return changed
    return 0
