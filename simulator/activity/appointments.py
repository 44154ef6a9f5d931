"""Appointments booked, attended, missed or cancelled, and billed once seen.

Bookings and cancellations come at the day plan's pace (`simulator.day`);
what happens on the day follows the clock (`appointment_clock`): each
patient arrives around their slot (or never: a no-show), is checked in, and
is seen and billed some minutes later, so today's appointments move from
scheduled to checked in to completed over office hours.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ..history import PROFILES
from ..hospital import new_id
from ..visits import SLOTS, visit_fee
from .common import ACTIVE, UTC, aware, new_bill, pick, transition

SAME_DAY_SHARE = 0.15  # bookings for later today; the rest are for the week ahead
ARRIVAL_MINUTES = (-20, 10)  # patients come between 20 minutes early and 10 minutes late
SEEN_MINUTES = (15, 45)  # and are done this long after their slot starts
NO_SHOW_SHARE = 0.08
NO_SHOW_AFTER = dt.timedelta(minutes=30)
ON_THE_DAY = {"status": {"$in": ["scheduled", "checked_in"]}}
# From the first arrival (20 minutes before 08:00) to the last patient seen (45 minutes after
# the last slot, 17:40) and its no-show: what happens on the day happens within these hours.
CLINIC_HOURS = (dt.time(7, 30), dt.time(19, 0))


def _next_slot(rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A 20-minute slot: later today (at least half an hour ahead) now and then, mostly on a
    weekday of the week ahead (weekends have a quarter of the clinics)."""
    opening = now.replace(hour=8, minute=0, second=0, microsecond=0)
    soonest = now + dt.timedelta(minutes=30)
    first = max(0, -(-int((soonest - opening).total_seconds()) // (20 * 60)))  # rounded up
    if first < SLOTS and rng.random() < SAME_DAY_SHARE:
        return opening + dt.timedelta(minutes=20 * rng.randrange(first, SLOTS))
    days = list(range(1, 8))
    weights = [1 if (now.date() + dt.timedelta(days=d)).weekday() < 5 else 0.25 for d in days]
    day = now.date() + dt.timedelta(days=rng.choices(days, weights)[0])
    return dt.datetime.combine(day, dt.time(8), now.tzinfo) + dt.timedelta(
        minutes=20 * rng.randrange(SLOTS)
    )


def book_appointment(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A booking with one of the department's clinicians, mostly for the days ahead."""
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


def _fate(appointment_id: Any) -> tuple[dt.timedelta, dt.timedelta | None]:
    """When this appointment's patient arrives and is done, relative to the slot (None: never
    comes). Drawn from the id, so every simulator (and every run) agrees on it."""
    rng = random.Random(str(appointment_id))
    arrival = dt.timedelta(minutes=rng.uniform(*ARRIVAL_MINUTES))
    seen = dt.timedelta(minutes=rng.uniform(*SEEN_MINUTES))
    return (arrival, None) if rng.random() < NO_SHOW_SHARE else (arrival, seen)


def appointment_clock(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """Everything the clock has brought about since the last look: arrivals checked in, patients
    seen (completed and billed), and no-shows half an hour after their slot."""
    if not CLINIC_HOURS[0] <= now.time() < CLINIC_HOURS[1]:
        return 0  # the clinics are closed: nobody comes, nobody is seen
    t = now.astimezone(UTC)
    window = {"$gte": t - dt.timedelta(days=1), "$lte": t + dt.timedelta(minutes=30)}
    due = db.appointments.find(
        {**ACTIVE, **ON_THE_DAY, "scheduledAt": window},
        {"status": 1, "scheduledAt": 1, "patientId": 1, "departmentId": 1},
    )
    changes = 0
    for appointment in sorted(due, key=lambda a: (a["scheduledAt"], a["_id"])):
        slot = aware(appointment["scheduledAt"])
        arrival, seen = _fate(appointment["_id"])
        if appointment["status"] == "checked_in":
            if t >= slot + (seen or dt.timedelta(minutes=SEEN_MINUTES[1])):
                changes += _complete(db, rng, appointment, t)
        elif seen is None:
            if t >= slot + NO_SHOW_AFTER:
                changes += _set_status(db, appointment, "scheduled", {"status": "no_show"})
        elif t >= slot + arrival:
            update = {"status": "checked_in", "checkedInAt": min(t, slot + arrival)}
            changes += _set_status(db, appointment, "scheduled", update)
    return changes


def _set_status(db: Any, appointment: dict, old: str, update: dict) -> int:
    return db.appointments.update_one(
        {"_id": appointment["_id"], "status": old}, {"$set": update}
    ).modified_count


def _complete(db: Any, rng: random.Random, appointment: dict, t: dt.datetime) -> int:
    if not _set_status(db, appointment, "checked_in", {"status": "completed", "completedAt": t}):
        return 0
    code = appointment["departmentId"]
    patient = {"_id": appointment["patientId"], "departmentId": code}
    kind = "Imaging" if code == "RAD" else "Consultation"
    bill = new_bill(rng, patient, t, visit_fee(rng, code), kind, 0.4)
    db.bills.insert_one({**bill, "appointmentId": appointment["_id"]})
    return 2


def cancel_appointment(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A patient cancels an upcoming appointment."""
    t = now.astimezone(UTC)
    upcoming = {**ACTIVE, "scheduledAt": {"$gt": t + dt.timedelta(hours=1)}}
    return transition(
        db.appointments, rng, upcoming, "status", "scheduled", "cancelled", t, "cancelledAt"
    )
