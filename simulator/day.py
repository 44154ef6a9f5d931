"""The hospital's day: how often each event happens at each hour, whatever the simulator's rate.

Each hospital event is a Poisson process whose rate follows the local hour
(`simulator.shapes`: arrivals peak in the morning, the emergency department
never stops, discharges come around noon, clinics and the billing office
keep office hours) and the hospital's state (each outpatient is admitted or
sent home at a rate per person, each pending bill is paid at a rate per
bill, staff clock in until the shift is staffed). The rates are calibrated
on the seeded hospital (`simulator.seed`), so its levels hold over a day:
the patients in care, the beds, the pending bills, the open emergencies,
and revenue paid per hour as a hospital's is.

`pace` makes the hospital busier (every rate times `pace`); the
simulator's `--rate` only decides how much routine record keeping fills the
time between these events (`simulator.activity.routine`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .activity import CLOCKED
from .hospital import (
    AT_WORK_BY_DAY,
    AT_WORK_BY_NIGHT,
    EMERGENCIES_PER_REGISTRATION,
    EMERGENCY_HANDOVER_MINUTES,
    EMERGENCY_STAGE_MINUTES,
    HISTORY_DAYS,
)
from .shapes import (
    ARRIVALS,
    DAYTIME,
    DISCHARGES,
    EMERGENCIES,
    LEAVING,
    NIGHT,
    OFFICE,
    PAYMENTS,
    ROOMS,
)

HOUR = 3600.0
# A paused simulator does not make up for more than this much missed time at once.
MAX_CATCH_UP = dt.timedelta(hours=1)

# Per person (or bill, pathway, room, emergency) and hour; the seed's hospital holds level with
# these (docs/simulator.md has the day they make at the default size).
ADMITTED_PER_OUTPATIENT = 0.016  # about 190 admissions a day, as many as discharges
SENT_HOME_PER_OUTPATIENT = 0.2  # an outpatient visit lasts about four and a half hours
DISCHARGED_PER_INPATIENT = 0.0083  # inpatients stay about five days
CHARGES_PER_INPATIENT = 0.2 / 24  # pharmacy, laboratory, imaging: one every five days
PAID_PER_PENDING_BILL = 1 / (3 * 24)  # a bill not paid at the desk is paid about three days on
VOIDED_PER_PENDING_BILL = 0.0003
ADVANCES_PER_PATHWAY = 0.04  # a stage a day or so
# Registration to first clinician, on average: emergency departments report a median of about
# half an hour (docs/simulator.md).
DOOR_TO_PROVIDER_HOURS = 0.5
CANCELLED_SHARE = 0.07  # of bookings, cancelled before the day
# Per emergency bay, theatre and consulting room: taken, vacated and cleaned every two or three
# hours (three changes a turnover).
TURNOVERS_PER_SHORT_STAY_ROOM = 1.2
STAFFING_PER_HOUR = 2.0  # how fast a shift change closes the gap to its staffing
# Per person on duty: two short breaks and a meal break a twelve-hour shift, 20 minutes on average.
BREAKS_PER_HOUR = 0.25
BACK_FROM_BREAK_PER_HOUR = 3.0


@dataclass
class Census:
    """The counts the rates depend on: read from the hospital now and then (each hour; the
    monthly averages every six hours), and kept current meanwhile from what the events did."""

    outpatients: int = 0
    waiting: int = 0  # outpatients not yet seen by a clinician
    admitted: int = 0
    pending_bills: int = 0
    open_pathways: int = 0  # open and not yet at the discharge stage
    open_emergencies: int = 0
    short_stay_rooms: int = 0  # emergency bays, theatres and consulting rooms
    staff: int = 0
    at_work: int = 0
    on_break: int = 0
    registrations_per_day: float = 0.0
    bookings_per_day: float = 0.0

    def count(self, db: Any, now: dt.datetime, *, monthly: bool) -> None:
        """Read the counts again (with `monthly`, the daily averages of the seeded span too)."""
        active = {"isActive": True}
        patients = _by(db.patients, active, "$status")
        staff = _by(db.staff, active, "$status")
        open_flows = {**active, "stage": {"$nin": ["done", "discharge"]}}
        emergency = {**active, "priority": "emergency", "resolvedAt": None}
        self.outpatients = patients.get("outpatient", 0)
        self.waiting = db.patients.count_documents(
            {**active, "status": "outpatient", "seenAt": None}
        )
        self.admitted = patients.get("admitted", 0)
        self.pending_bills = db.bills.count_documents({**active, "status": "pending"})
        self.open_pathways = db.workflows.count_documents(open_flows)
        self.open_emergencies = db.workflows.count_documents(emergency)
        self.short_stay_rooms = db.rooms.count_documents(
            {**active, "type": {"$in": ["er", "or", "consult"]}}
        )
        self.staff = sum(staff.values())
        self.at_work = staff.get("on_duty", 0) + staff.get("on_break", 0)
        self.on_break = staff.get("on_break", 0)
        if monthly:
            t = now.astimezone(dt.UTC)
            month = {"$gte": t - dt.timedelta(days=HISTORY_DAYS), "$lt": t}
            registered = db.patients.count_documents({**active, "registeredAt": month})
            booked = db.appointments.count_documents({**active, "scheduledAt": month})
            self.registrations_per_day = registered / HISTORY_DAYS
            self.bookings_per_day = booked / HISTORY_DAYS

    def record(self, kind: str) -> None:
        """What an event that wrote something changed in the counts."""
        for field, delta in EFFECTS.get(kind, {}).items():
            setattr(self, field, max(0, getattr(self, field) + delta))


EFFECTS: dict[str, dict[str, int]] = {
    "register_patient": {"outpatients": 1, "open_pathways": 1, "waiting": 1},
    "see_patient": {"waiting": -1},
    "admit_patient": {"outpatients": -1, "admitted": 1},
    "send_home": {"outpatients": -1},
    "discharge_patient": {"admitted": -1},
    "raise_emergency": {"open_emergencies": 1},
    "resolve_emergency": {"open_emergencies": -1},
    "pay_bill": {"pending_bills": -1},
    "void_bill": {"pending_bills": -1},
    "create_bill": {"pending_bills": 1},
    "clock_in": {"at_work": 1},
    "clock_out": {"at_work": -1},
    "take_break": {"on_break": 1},
    "end_break": {"on_break": -1},
}


def _by(collection: Any, match: dict, key: str) -> dict[str, int]:
    rows = collection.aggregate([{"$match": match}, {"$group": {"_id": key, "n": {"$sum": 1}}}])
    return {row["_id"]: row["n"] for row in rows}


def at_work_share(hour: int) -> float:
    """The share of staff the hour's shift wants at work (handovers at 07:00 and 19:00)."""
    return AT_WORK_BY_DAY if 7 <= hour < 19 else AT_WORK_BY_NIGHT


def _staffing_gap(census: Census, hour: int) -> float:
    return at_work_share(hour) * census.staff - census.at_work


# Expected events per hour, from the census and the local hour.
RATES: dict[str, Callable[[Census, int], float]] = {
    "register_patient": lambda c, h: c.registrations_per_day / 24 * ARRIVALS[h],
    "see_patient": lambda c, h: c.waiting / DOOR_TO_PROVIDER_HOURS,
    "admit_patient": lambda c, h: c.outpatients * ADMITTED_PER_OUTPATIENT * LEAVING[h],
    "send_home": lambda c, h: c.outpatients * SENT_HOME_PER_OUTPATIENT * LEAVING[h],
    "discharge_patient": lambda c, h: c.admitted * DISCHARGED_PER_INPATIENT * DISCHARGES[h],
    "book_appointment": lambda c, h: c.bookings_per_day / 24 * OFFICE[h],
    "cancel_appointment": lambda c, h: c.bookings_per_day * CANCELLED_SHARE / 24 * OFFICE[h],
    "turn_over_room": lambda c, h: c.short_stay_rooms * TURNOVERS_PER_SHORT_STAY_ROOM * ROOMS[h],
    "replace_room": lambda c, h: 1 / 24,
    "create_bill": lambda c, h: c.admitted * CHARGES_PER_INPATIENT * DAYTIME[h],
    "pay_bill": lambda c, h: c.pending_bills * PAID_PER_PENDING_BILL * PAYMENTS[h],
    "void_bill": lambda c, h: c.pending_bills * VOIDED_PER_PENDING_BILL,
    "advance_workflow": lambda c, h: c.open_pathways * ADVANCES_PER_PATHWAY * DAYTIME[h],
    "raise_emergency": lambda c, h: (
        c.registrations_per_day * EMERGENCIES_PER_REGISTRATION / 24 * EMERGENCIES[h]
    ),
    # Both look at every open emergency; each acts on those it can (not yet handed over, handed
    # over), so an emergency moves on about every EMERGENCY_STAGE_MINUTES and is closed within
    # about EMERGENCY_HANDOVER_MINUTES of its handover.
    "advance_emergency": lambda c, h: c.open_emergencies * 60 / EMERGENCY_STAGE_MINUTES,
    "resolve_emergency": lambda c, h: c.open_emergencies * 60 / EMERGENCY_HANDOVER_MINUTES,
    "clock_in": lambda c, h: max(0.0, _staffing_gap(c, h)) * STAFFING_PER_HOUR + 0.3,
    "clock_out": lambda c, h: max(0.0, -_staffing_gap(c, h)) * STAFFING_PER_HOUR + 0.3,
    "take_break": lambda c, h: (c.at_work - c.on_break) * BREAKS_PER_HOUR,
    "end_break": lambda c, h: c.on_break * BACK_FROM_BREAK_PER_HOUR,
    "soft_delete": lambda c, h: 4 / 24,
    "hard_delete": lambda c, h: 4 / 24 * NIGHT[h],
}


class DayPlan:
    """Which hospital events are due at a moment of hospital time.

    Each event of `rates` owes occurrences at its current rate (times
    `pace`); it is due
    whenever what it owes passes an exponential draw (so its occurrences form
    a Poisson process). Each event of `clocked` is due every so many seconds.
    """

    def __init__(
        self,
        db: Any,
        rng: random.Random,
        *,
        rates: dict[str, Callable[[Census, int], float]] = RATES,
        clocked: dict[str, float] | None = None,
        census_every: float = 3600.0,
        monthly_every: float = 6 * 3600.0,
        pace: float = 1.0,
    ) -> None:
        if pace <= 0:
            raise ValueError("pace must be positive")
        self.db = db
        self.pace = pace
        self.rng = rng
        self.rates = rates
        self.clocked = dict(CLOCKED if clocked is None else clocked)
        self.census_every = dt.timedelta(seconds=census_every)
        self.monthly_every = dt.timedelta(seconds=monthly_every)
        self.census = Census()
        self.census_at: dt.datetime | None = None
        self.monthly_at: dt.datetime | None = None
        self.last: dt.datetime | None = None
        self.owed = dict.fromkeys(rates, 0.0)
        self.draw = {name: rng.expovariate(1) for name in rates}
        self.next_at: dict[str, dt.datetime] = {}

    def record(self, kind: str, changes: int) -> None:
        """An event of the plan ran and wrote `changes` documents."""
        if changes:
            self.census.record(kind)

    @property
    def kinds(self) -> list[str]:
        return [*self.rates, *self.clocked]

    def due(self, now: dt.datetime) -> list[str]:
        """The events due since the last call, in the order they fell due (roughly)."""
        if self.last is None:
            self.last = now
            self.next_at = {name: now for name in self.clocked}
        # (Without a database, as in tests of the loop alone, the census stays empty.)
        counting = self.rates and self.db is not None
        if counting and (self.census_at is None or now - self.census_at >= self.census_every):
            monthly = self.monthly_at is None or now - self.monthly_at >= self.monthly_every
            self.census.count(self.db, now, monthly=monthly)
            self.census_at = now
            if monthly:
                self.monthly_at = now
        hours = min(now - self.last, MAX_CATCH_UP).total_seconds() / HOUR * self.pace
        self.last = now
        hour = now.hour
        names = []
        for name, rate in self.rates.items():
            self.owed[name] += max(0.0, rate(self.census, hour)) * hours
            while self.owed[name] >= self.draw[name]:
                self.owed[name] -= self.draw[name]
                self.draw[name] = self.rng.expovariate(1)
                names.append(name)
        self.rng.shuffle(names)
        for name, period in self.clocked.items():
            if now >= self.next_at[name]:
                names.append(name)
                self.next_at[name] = now + dt.timedelta(seconds=period)
        return names
