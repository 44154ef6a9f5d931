"""The demo hospital's fixed shape: departments, rooms and staff, and the vocabulary of its data.

Generators take a `random.Random` and "now" (an aware datetime in the
hospital's time zone) and return plain documents, so a seed and a moment
always give the same hospital. The patients are built in `history.py`,
their appointments and bills in `visits.py`; `seed.py` puts everything
together and writes it.
"""

from __future__ import annotations

import datetime as dt
import random

from bson import ObjectId

from accounts.demo import DEMO_DEPARTMENTS

from .names import person_name

# The demo logins' departments are the hospital's: one list for both.
DEPARTMENTS: list[tuple[str, str]] = DEMO_DEPARTMENTS
DEPARTMENT_CODES = [code for code, _ in DEPARTMENTS]

# The contract's enumerations (CONTRACT.md section 1).
PATIENT_STATUSES = ("admitted", "outpatient", "discharged")
APPOINTMENT_STATUSES = ("scheduled", "checked_in", "completed", "cancelled", "no_show")
ROOM_TYPES = ("ward", "icu", "er", "or", "consult")
ROOM_STATUSES = ("available", "occupied", "cleaning", "maintenance")
BILL_STATUSES = ("pending", "paid", "void")
WORKFLOW_STAGES = ("triage", "consultation", "diagnostics", "treatment", "discharge", "done")
PRIORITIES = ("normal", "urgent", "emergency")
STAFF_ROLES = ("doctor", "nurse", "technician", "admin")
STAFF_STATUSES = ("on_duty", "off_duty", "on_break")

COLLECTIONS = ("departments", "rooms", "staff", "patients", "appointments", "bills", "workflows")
# A hospital group's main campus, busy enough that something happens every few seconds at any
# hour (docs/simulator.md): adult and children's emergency departments and clinics, about 2,700
# registrations a day, 1,100 ward and intensive care beds.
DEFAULT_PATIENTS = 20000
HISTORY_DAYS = 7
MIN_BUILDING = 0.2  # the share of the building the smallest hospitals keep (`building_scale`)
BEDDED_TYPES = ("ward", "icu")  # where admitted patients sleep; the other types turn over in hours

FLOORS = {"RAD": 0, "ER": 1, "CARD": 2, "NEURO": 3, "ORTHO": 4, "PED": 5, "ONC": 6, "ICU": 7}
# Rooms per department and type: 677 in all, about 1,100 ward and ICU beds.
ROOM_PLAN: dict[str, dict[str, int]] = {
    "ER": {"er": 150, "consult": 16, "ward": 12},
    "CARD": {"ward": 60, "icu": 16, "consult": 14, "or": 6},
    "NEURO": {"ward": 50, "icu": 12, "consult": 12},
    "ORTHO": {"ward": 50, "or": 12, "consult": 14},
    "PED": {"ward": 50, "icu": 10, "consult": 14},
    "ONC": {"ward": 50, "consult": 16},
    "RAD": {"consult": 30, "or": 3},
    "ICU": {"icu": 80},
}
WARD_CAPACITIES = (2, 2, 4, 4, 6)
# Doctors, nurses, technicians, admins per department: 763 in all. Nurses follow published
# staffing norms for the patients each department holds (docs/simulator.md): intensive care one
# nurse at work per one or two patients, wards one per four to six, day and night.
STAFF_PLAN: dict[str, tuple[int, int, int, int]] = {
    "ER": (30, 60, 6, 6),
    "CARD": (20, 80, 8, 5),
    "NEURO": (16, 68, 6, 4),
    "ORTHO": (18, 64, 6, 4),
    "PED": (16, 68, 4, 4),
    "ONC": (14, 64, 6, 4),
    "RAD": (12, 10, 30, 4),
    "ICU": (20, 96, 6, 4),
}
# Emergency alerts: critical arrivals at the ER, deteriorations on the wards (early-warning
# scores), critical results and sepsis screens, per registration (about 620 a day at the default
# size). Each moves a stage every EMERGENCY_STAGE_MINUTES on average (assessed, investigated,
# treated, handed over), and is resolved about EMERGENCY_HANDOVER_MINUTES after its handover:
# about half an hour in all (docs/simulator.md).
EMERGENCIES_PER_REGISTRATION = 0.23
EMERGENCY_STAGE_MINUTES = 4
EMERGENCY_HANDOVER_MINUTES = 8
EMERGENCY_MINUTES = 4 * EMERGENCY_STAGE_MINUTES + EMERGENCY_HANDOVER_MINUTES  # raised to resolved
# The share of staff at work (on duty or on a break) in each shift: day 07:00-19:00, night the
# rest. Nights run a little leaner, never below the norms.
AT_WORK_BY_DAY, AT_WORK_BY_NIGHT = 0.60, 0.50
EQUIPMENT = (
    "monitor",
    "oxygen",
    "suction",
    "infusion pump",
    "ventilator",
    "defibrillator",
    "ultrasound",
    "x-ray",
    "ct",
    "mri",
    "hoist",
    "crib",
)


def new_id(rng: random.Random, at: dt.datetime) -> ObjectId:
    """An ObjectId stamped with `at` whose other bytes come from `rng`, so reruns give the same ids."""
    return ObjectId(int(at.timestamp()).to_bytes(4, "big") + rng.randbytes(8))


def utc(moment: dt.datetime) -> dt.datetime:
    """The aware UTC datetime stored for `moment`, to the second."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def is_day_shift(now: dt.datetime) -> bool:
    return 7 <= now.hour < 19


def room_capacity(rng: random.Random, room_type: str) -> int:
    if room_type == "ward":
        return rng.choice(WARD_CAPACITIES)
    if room_type == "er":
        return rng.choice((1, 1, 2))
    return 1


def room_equipment(rng: random.Random) -> list[str]:
    return sorted(rng.sample(EQUIPMENT, rng.randint(1, 4)))


def generate_departments(now: dt.datetime) -> list[dict]:
    created = utc(now - dt.timedelta(days=3 * 365))
    return [
        {"_id": code, "name": name, "floor": FLOORS[code], "isActive": True, "createdAt": created}
        for code, name in DEPARTMENTS
    ]


def building_scale(patients: int) -> float:
    """How much of the default building a hospital of `patients` has: all of it at the default
    size or more; a smaller hospital has proportionally fewer rooms and staff, down to a fifth
    (enough of every kind for the simulator's events)."""
    return max(MIN_BUILDING, min(1.0, patients / DEFAULT_PATIENTS))


def scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))


def generate_rooms(rng: random.Random, now: dt.datetime, scale: float = 1.0) -> list[dict]:
    """Every room empty and ready; `occupy_rooms` then puts the admitted patients in beds."""
    created = utc(now - dt.timedelta(days=2 * 365))
    rooms = []
    for code, plan in ROOM_PLAN.items():
        number = 1
        for room_type, count in plan.items():
            for _ in range(scaled(count, scale)):
                rooms.append(
                    {
                        "_id": new_id(rng, created),
                        "number": f"{FLOORS[code]}{number:02d}",
                        "departmentId": code,
                        "type": room_type,
                        "status": "available",
                        "capacity": room_capacity(rng, room_type),
                        "occupiedBeds": 0,
                        "equipment": room_equipment(rng),
                        "isActive": True,
                        "createdAt": created,
                        "updatedAt": created,
                    }
                )
                number += 1
    return rooms


def occupy_rooms(
    rng: random.Random, rooms: list[dict], patients: list[dict], now: dt.datetime
) -> None:
    """Give each admitted patient a bed (`roomId`) in the department's rooms; set every status.

    A bedded room's occupiedBeds is the number of admitted patients in it; an
    occupied room has at least one bed taken, any other status none.
    """
    # Emergency bays are busy at any hour; theatres and consulting rooms mostly by day.
    busy = {"er": 0.6, "or": 0.55, "consult": 0.55} if is_day_shift(now) else {"er": 0.5}
    for code in DEPARTMENT_CODES:
        bedded = [
            room for room in rooms if room["departmentId"] == code and room["type"] in BEDDED_TYPES
        ]
        rng.shuffle(bedded)
        # Rooms fill one after the other, leaving some empty, as wards are run.
        beds = [room for room in reversed(bedded) for _ in range(room["capacity"])]
        for patient in patients:
            if patient["status"] == "admitted" and patient["departmentId"] == code and beds:
                room = beds.pop()
                room["occupiedBeds"] += 1
                patient["roomId"] = room["_id"]
    for room in rooms:
        if room["type"] not in BEDDED_TYPES and rng.random() < busy.get(room["type"], 0.05):
            room["occupiedBeds"] = rng.randint(1, room["capacity"])
        if room["occupiedBeds"]:
            room["status"] = "occupied"
        else:
            room["status"] = rng.choices(("available", "cleaning", "maintenance"), (80, 13, 7))[0]
        room["updatedAt"] = utc(now - dt.timedelta(minutes=rng.uniform(5, 600)))


def beds_by_department(rooms: list[dict]) -> dict[str, int]:
    beds = dict.fromkeys(DEPARTMENT_CODES, 0)
    for room in rooms:
        if room["type"] in BEDDED_TYPES:
            beds[room["departmentId"]] += room["capacity"]
    return beds


def generate_staff(rng: random.Random, now: dt.datetime, scale: float = 1.0) -> list[dict]:
    at_work = AT_WORK_BY_DAY if is_day_shift(now) else AT_WORK_BY_NIGHT
    on_break = 0.08 * at_work  # three breaks of about 20 minutes a twelve-hour shift
    weights = (at_work - on_break, 1 - at_work, on_break)
    staff, number = [], 1
    for code, counts in STAFF_PLAN.items():
        for role, count in zip(STAFF_ROLES, counts, strict=True):
            for _ in range(scaled(count, scale)):
                hired = now - dt.timedelta(days=rng.randint(60, 3000))
                status = rng.choices(("on_duty", "off_duty", "on_break"), weights)[0]
                ago = {"on_duty": (0, 15), "on_break": (5, 30), "off_duty": (60, 840)}[status]
                staff.append(
                    {
                        "_id": new_id(rng, hired),
                        "employeeId": f"E{10000 + number}",
                        "name": person_name(rng),
                        "role": role,
                        "departmentId": code,
                        "status": status,
                        "isActive": True,
                        "hiredAt": utc(hired),
                        "lastSeenAt": utc(now - dt.timedelta(minutes=rng.uniform(*ago))),
                    }
                )
                number += 1
    return staff
