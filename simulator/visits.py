"""Appointments and bills: a week of office hours and what the hospital charged for them.

Appointment statuses follow the clock (past ones are completed, cancelled or
missed; today's are a mix; the week ahead is booked), and a bill is paid at
the desk, paid days later or still pending, never paid in the future.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random

from .history import PROFILES
from .hospital import DEFAULT_PATIENTS, DEPARTMENT_CODES, HISTORY_DAYS, new_id, utc
from .shapes import PAYMENTS, hour_on

UTC = dt.UTC
APPOINTMENT_DAYS = (-(HISTORY_DAYS - 1), 7)  # local days around today
SLOTS = 30  # 20-minute slots from 08:00 to 18:00
DAILY_RATE = {"ICU": (4000, 6500)}  # dollars per inpatient day; others use the default
DEFAULT_DAILY_RATE = (1800, 3200)


def _appointment_status(rng: random.Random, at: dt.datetime, now: dt.datetime) -> str:
    if at <= now - dt.timedelta(minutes=90):
        options = {"completed": 82, "cancelled": 9, "no_show": 9}
    elif at <= now:
        options = {"checked_in": 50, "completed": 40, "cancelled": 5, "no_show": 5}
    elif at <= now + dt.timedelta(minutes=45):
        options = {"scheduled": 60, "checked_in": 35, "cancelled": 5}
    else:
        options = {"scheduled": 93, "cancelled": 7}
    return rng.choices(list(options), list(options.values()))[0]


def _appointment(
    rng: random.Random, patient: dict, doctor: dict, at: dt.datetime, now: dt.datetime
) -> dict:
    booked = at - dt.timedelta(hours=rng.uniform(1, 24 * 14))
    if patient["registeredAt"] < at:
        booked = max(booked, patient["registeredAt"])
    booked = min(booked, now)
    status = _appointment_status(rng, at, now)
    appointment = {
        "_id": new_id(rng, booked),
        "patientId": patient["_id"],
        "departmentId": patient["departmentId"],
        "staffId": doctor["_id"],
        "scheduledAt": utc(at),
        "durationMinutes": 20,
        "status": status,
        "createdAt": utc(booked),
        "isActive": True,
    }
    if status in ("checked_in", "completed"):
        appointment["checkedInAt"] = utc(min(at - dt.timedelta(minutes=rng.uniform(0, 15)), now))
    if status == "completed":
        appointment["completedAt"] = utc(min(at + dt.timedelta(minutes=rng.uniform(15, 40)), now))
    return appointment


def generate_appointments(
    rng: random.Random, patients: list[dict], staff: list[dict], now: dt.datetime
) -> list[dict]:
    """Office-hour appointments from a week ago to a week ahead, fewer at weekends."""
    tz, now_utc = now.tzinfo, now.astimezone(UTC)
    scale = len(patients) / DEFAULT_PATIENTS
    by_department: dict[str, list[dict]] = {code: [] for code in DEPARTMENT_CODES}
    for patient in patients:  # already in order of registration
        by_department[patient["departmentId"]].append(patient)
    appointments = []
    for offset in range(APPOINTMENT_DAYS[0], APPOINTMENT_DAYS[1] + 1):
        day = now.date() + dt.timedelta(days=offset)
        opening = dt.datetime.combine(day, dt.time(8, 0), tzinfo=tz)
        for code, profile in PROFILES.items():
            doctors = [
                person
                for person in staff
                if person["departmentId"] == code and person["role"] in ("doctor", "technician")
            ]
            people = by_department[code]
            if not profile.appointments or not doctors or not people:
                continue
            expected = profile.appointments * scale * (1 if day.weekday() < 5 else 0.25)
            registered = [person["registeredAt"] for person in people]
            for _ in range(int(expected * rng.uniform(0.8, 1.2) + rng.random())):
                at = (opening + dt.timedelta(minutes=20 * rng.randrange(SLOTS))).astimezone(UTC)
                # Mostly recent patients coming back; the future books anyone.
                known = bisect.bisect_right(registered, utc(at))
                patient = rng.choice(people[max(0, known - 200) : known] or people)
                appointments.append(_appointment(rng, patient, rng.choice(doctors), at, now_utc))
    appointments.sort(key=lambda appointment: (appointment["scheduledAt"], appointment["_id"]))
    return appointments


def desk_open(local: dt.datetime) -> float:
    """How much of its daytime trade the cashier's desk does at this local hour: the emergency
    department's desk stays open at night, with a fifth of the day's payments at it."""
    return 1.0 if 7 <= local.hour < 22 else 0.2


def settle(rng: random.Random, bill: dict, now: dt.datetime) -> dict:
    """Pay (at the desk, or days later in the billing office's hours) or void a bill; unpaid by
    now means pending. `now` is aware, in the hospital's time zone."""
    roll = rng.random()
    if roll < 0.03:
        bill["status"] = "void"
        return bill
    tz = now.tzinfo or UTC
    if roll < 0.03 + 0.35 * desk_open(bill["createdAt"].astimezone(tz)):
        paid = bill["createdAt"] + dt.timedelta(minutes=rng.uniform(0, 30))
    else:
        day = (bill["createdAt"] + dt.timedelta(days=rng.expovariate(1 / 4))).astimezone(tz).date()
        paid = max(hour_on(rng, PAYMENTS, day, tz).astimezone(UTC), bill["createdAt"])
    if paid <= now:
        bill["status"], bill["paidAt"] = "paid", utc(paid)
    else:
        bill["status"] = "pending"
    return bill


def bill_document(
    rng: random.Random,
    patient: dict,
    created: dt.datetime,
    cents: int,
    description: str,
    currency: str,
) -> dict:
    """A bill for `patient` raised at `created` (a stored, UTC time), without its status."""
    return {
        "_id": new_id(rng, created),
        "patientId": patient["_id"],
        "departmentId": patient["departmentId"],
        "amountCents": cents,
        "currency": currency,
        "description": description,
        "createdAt": created,
        "isActive": True,
    }


def stay_charge(rng: random.Random, department: str, days: int) -> int:
    low, high = DAILY_RATE.get(department, DEFAULT_DAILY_RATE)
    return days * rng.randint(low * 100, high * 100) + rng.randint(0, 2000_00)


def visit_fee(rng: random.Random, department: str) -> int:
    low, high = PROFILES[department].visit_fee
    return rng.randint(low * 100, high * 100)


def generate_bills(
    rng: random.Random,
    patients: list[dict],
    appointments: list[dict],
    now: dt.datetime,
    currency: str = "USD",
) -> list[dict]:
    """A bill per completed appointment and per discharge (a stay or a visit)."""
    now_utc = now.astimezone(UTC)
    local_now = now if now.tzinfo is not None else now_utc
    by_id = {patient["_id"]: patient for patient in patients}
    bills = []
    for appointment in appointments:
        if appointment["status"] == "completed":
            patient = by_id[appointment["patientId"]]
            code = patient["departmentId"]
            kind = "Imaging" if code == "RAD" else "Consultation"
            bill = bill_document(
                rng, patient, appointment["completedAt"], visit_fee(rng, code), kind, currency
            )
            bill["appointmentId"] = appointment["_id"]
            bills.append(settle(rng, bill, local_now))
    for patient in patients:
        if patient["status"] != "discharged":
            continue
        code = patient["departmentId"]
        if "admittedAt" in patient:
            days = max(1, math.ceil((patient["dischargedAt"] - patient["admittedAt"]).days))
            cents, kind = stay_charge(rng, code, days), f"Inpatient stay, {days} days"
        else:
            cents, kind = visit_fee(rng, code), "Emergency visit" if code == "ER" else "Visit"
        bills.append(
            settle(
                rng,
                bill_document(rng, patient, patient["dischargedAt"], cents, kind, currency),
                local_now,
            )
        )
    bills.sort(key=lambda bill: (bill["createdAt"], bill["_id"]))
    return bills
