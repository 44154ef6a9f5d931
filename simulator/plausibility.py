"""The demo hospital's numbers beside a real hospital's: each quantity, how to read it from the
hospital database, and the range published figures allow.

The table in docs/simulator.md comes from `python -m bench.pulse`, which
reads these figures at four local hours; the pulse test asserts each one
lies in its range. Sources are cited in docs/simulator.md by the keys below.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .hospital import BEDDED_TYPES, HISTORY_DAYS

ACTIVE = {"isActive": True}
WARD_DEPARTMENTS = ("CARD", "NEURO", "ORTHO", "PED", "ONC")


@dataclass(frozen=True)
class Reference:
    label: str
    low: float
    high: float
    source: str  # a key of the sources list in docs/simulator.md

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


REFERENCES: dict[str, Reference] = {
    "bedOccupancy": Reference("ward and ICU beds occupied", 0.70, 0.95, "occupancy"),
    "openEmergencies": Reference("emergencies open", 1, 20, "rapid-response"),
    "longestOpenEmergencyMinutes": Reference(
        "longest open emergency (minutes)", 0, 120, "rapid-response"
    ),
    "icuPatientsPerNurse": Reference("ICU patients per nurse on duty", 0.9, 2.2, "icu-staffing"),
    "wardPatientsPerNurse": Reference("ward patients per nurse on duty", 3.5, 6.5, "ward-staffing"),
    "erWaitingMinutesLongest": Reference(
        "longest wait to be seen (minutes)", 0, 240, "door-to-provider"
    ),
    "registrationsPeakHour": Reference("busiest registration hour", 9, 14, "ed-arrivals"),
    "nightArrivalShare": Reference(
        "registrations 03:00-04:00 over 11:00-12:00", 0.2, 0.5, "ed-arrivals"
    ),
    "dischargesPeakHour": Reference("busiest inpatient discharge hour", 10, 15, "discharges"),
    "paymentsPeakHour": Reference("busiest payment hour", 9, 16, "payments"),
    "nightPaymentShare": Reference("payments made 00:00-06:00", 0.0, 0.1, "payments"),
}


def figures(db: Any, now: dt.datetime) -> dict[str, float]:
    """Every quantity of REFERENCES in the hospital `db` at `now` (aware, the hospital's zone)."""
    tz = now.tzinfo or dt.UTC
    t = now.astimezone(dt.UTC)
    values: dict[str, float] = {}
    beds = occupied = 0
    for room in db.rooms.find({**ACTIVE, "type": {"$in": list(BEDDED_TYPES)}}):
        beds += room["capacity"]
        occupied += room["occupiedBeds"]
    values["bedOccupancy"] = round(occupied / beds, 3) if beds else 0.0
    emergencies = list(
        db.workflows.find({**ACTIVE, "priority": "emergency", "resolvedAt": None}, {"startedAt": 1})
    )
    values["openEmergencies"] = len(emergencies)
    values["longestOpenEmergencyMinutes"] = max(
        (_minutes(t - _aware(flow["startedAt"])) for flow in emergencies), default=0.0
    )
    values["icuPatientsPerNurse"] = _patients_per_nurse(db, ("ICU",))
    values["wardPatientsPerNurse"] = _patients_per_nurse(db, WARD_DEPARTMENTS)
    waiting = db.patients.find(
        {**ACTIVE, "status": "outpatient", "seenAt": None}, {"registeredAt": 1}
    )
    values["erWaitingMinutesLongest"] = max(
        (_minutes(t - _aware(patient["registeredAt"])) for patient in waiting), default=0.0
    )
    week = {"$gte": t - dt.timedelta(days=HISTORY_DAYS), "$lt": t}
    arrivals = _by_hour(db.patients, {**ACTIVE, "registeredAt": week}, "registeredAt", tz)
    values["registrationsPeakHour"] = _peak(arrivals)
    values["nightArrivalShare"] = round(arrivals[3] / arrivals[11], 3) if arrivals[11] else 0.0
    discharged = {**ACTIVE, "admittedAt": {"$ne": None}, "dischargedAt": week}
    values["dischargesPeakHour"] = _peak(_by_hour(db.patients, discharged, "dischargedAt", tz))
    paid = _by_hour(
        db.bills, {**ACTIVE, "status": "paid", "paidAt": week}, "paidAt", tz, "amountCents"
    )
    values["paymentsPeakHour"] = _peak(paid)
    total = sum(paid.values())
    values["nightPaymentShare"] = round(sum(paid[h] for h in range(6)) / total, 3) if total else 0.0
    return values


def out_of_range(values: dict[str, float]) -> dict[str, tuple[float, Reference]]:
    """The figures outside their reference range (empty: all plausible)."""
    return {
        name: (value, REFERENCES[name])
        for name, value in values.items()
        if name in REFERENCES and not REFERENCES[name].holds(value)
    }


def _patients_per_nurse(db: Any, departments: tuple[str, ...]) -> float:
    inside = {"$in": list(departments)}
    patients = db.patients.count_documents({**ACTIVE, "status": "admitted", "departmentId": inside})
    nurses = db.staff.count_documents(
        {**ACTIVE, "role": "nurse", "status": "on_duty", "departmentId": inside}
    )
    return round(patients / nurses, 2) if nurses else float("inf")


def _by_hour(
    collection: Any, match: dict, field: str, tz: dt.tzinfo, amount: str | None = None
) -> Counter:
    hours: Counter = Counter()
    for doc in collection.find(match, {field: 1, **({amount: 1} if amount else {})}):
        hours[_aware(doc[field]).astimezone(tz).hour] += doc[amount] if amount else 1
    return hours


def _peak(hours: Counter) -> int:
    return max(range(24), key=lambda hour: hours[hour]) if hours else -1


def _minutes(delta: dt.timedelta) -> float:
    return round(max(0.0, delta.total_seconds() / 60), 1)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
