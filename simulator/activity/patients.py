"""Patients come, are admitted, go home; their pathways advance; emergencies come and go."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ..history import PROFILES, triage_level
from ..hospital import BEDDED_TYPES, new_id
from ..visits import stay_charge, visit_fee
from .common import ACTIVE, UTC, aware, new_bill, new_patient, pick

MAX_OPEN_EMERGENCIES = 20
TO_ICU = 0.3  # of emergencies outside intensive care, those treated there
# Where the ER's admitted patients go, relative: the wards with the most beds.
ADMITTING = {"CARD": 3, "NEURO": 2, "ORTHO": 2, "PED": 2, "ONC": 2}
NEXT_STAGE = {
    "triage": "consultation",
    "consultation": "diagnostics",
    "diagnostics": "treatment",
    "treatment": "discharge",
}
OPEN_EMERGENCY = {"isActive": True, "priority": "emergency", "resolvedAt": None}
# Registered and not yet seen by a clinician (the pathway still at triage).
WAITING = {"isActive": True, "status": "outpatient", "seenAt": None}


def register_patient(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A walk-in or a referral: a new outpatient in triage (intensive care admits, never registers)."""
    codes = [code for code in PROFILES if code != "ICU"]
    code = rng.choices(codes, [PROFILES[code].share for code in codes])[0]
    return new_patient(db, rng, code, triage_level(rng, code), now.astimezone(UTC))


def see_patient(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A clinician sees a waiting outpatient, the most urgent triage level first (then the one
    waiting longest): `seenAt` is stamped and the pathway leaves triage for consultation."""
    t = now.astimezone(UTC)
    waiting = list(
        db.patients.find(WAITING, {"triageLevel": 1, "registeredAt": 1})
        .sort([("triageLevel", 1), ("registeredAt", 1)])
        .limit(1)
    )
    if not waiting:
        return 0
    patient = waiting[0]
    if not db.patients.update_one(
        {"_id": patient["_id"], **WAITING}, {"$set": {"seenAt": t}}
    ).modified_count:
        return 0
    return (
        1
        + db.workflows.update_many(
            {**ACTIVE, "patientId": patient["_id"], "stage": "triage"},
            {"$set": {"stage": "consultation", "updatedAt": t}},
        ).modified_count
    )


def _ward_for(rng: random.Random, patient: dict) -> str:
    """Where an admitted patient goes: intensive care for half the critical, the ER's mostly elsewhere."""
    if patient.get("triageLevel", 5) <= 2 and rng.random() < 0.5:
        return "ICU"
    if patient["departmentId"] == "ER" and rng.random() < 0.7:
        return rng.choices(list(ADMITTING), list(ADMITTING.values()))[0]
    return patient["departmentId"]


def admit_patient(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """An outpatient is admitted, to a bed of their department's (or the ward they move to)."""
    t = now.astimezone(UTC)
    waiting = {
        **ACTIVE,
        "status": "outpatient",
        "departmentId": {"$ne": "RAD"},
        "seenAt": {"$ne": None},
    }
    patient = pick(db.patients, waiting, rng, "departmentId", "triageLevel")
    if patient is None:
        return 0
    code = _ward_for(rng, patient)
    room = _free_room(db, rng, code)
    admitted = {"status": "admitted", "admittedAt": t, "departmentId": code}
    if room is not None:
        admitted["roomId"] = room["_id"]
    if not db.patients.update_one(
        {"_id": patient["_id"], "status": "outpatient"}, {"$set": admitted}
    ).modified_count:
        return 0
    changes = 1
    if code != patient["departmentId"]:
        changes += db.workflows.update_many(
            {"patientId": patient["_id"], "stage": {"$ne": "done"}},
            {"$set": {"departmentId": code, "updatedAt": t}},
        ).modified_count
    if room is None:
        return changes  # boarding: admitted, waiting for a bed
    if _take_bed(db, room, t):
        return changes + 1
    # Someone took the last bed in between: the patient boards after all.
    return (
        changes
        + db.patients.update_one({"_id": patient["_id"]}, {"$unset": {"roomId": ""}}).modified_count
    )


def _free_room(db: Any, rng: random.Random, code: str) -> dict | None:
    rooms = db.rooms.find(
        {
            **ACTIVE,
            "departmentId": code,
            "type": {"$in": list(BEDDED_TYPES)},
            "status": {"$in": ["available", "occupied"]},
        },
        {"status": 1, "capacity": 1, "occupiedBeds": 1},
    )
    free = [room for room in rooms if room["occupiedBeds"] < room["capacity"]]
    return rng.choice(free) if free else None


def _take_bed(db: Any, room: dict, t: dt.datetime) -> int:
    return db.rooms.update_one(
        {
            "_id": room["_id"],
            "status": room["status"],
            "capacity": room["capacity"],
            "occupiedBeds": room["occupiedBeds"],
        },
        {"$inc": {"occupiedBeds": 1}, "$set": {"status": "occupied", "updatedAt": t}},
    ).modified_count


def _vacate_bed(db: Any, room_id: Any, t: dt.datetime) -> int:
    """The patient's bed frees up; the room's last one sends it to cleaning."""
    room = db.rooms.find_one({"_id": room_id, "status": "occupied"}, {"occupiedBeds": 1})
    if room is None:
        return 0
    guard = {"_id": room_id, "status": "occupied", "occupiedBeds": room["occupiedBeds"]}
    if room["occupiedBeds"] <= 1:
        update = {"$set": {"status": "cleaning", "occupiedBeds": 0, "updatedAt": t}}
    else:
        update = {"$inc": {"occupiedBeds": -1}, "$set": {"updatedAt": t}}
    return db.rooms.update_one(guard, update).modified_count


def _ready_to_go(db: Any, rng: random.Random, status: str) -> dict | None:
    """A patient of `status` whose pathway says they can leave: mostly at `discharge`, some seen
    and done early. An open emergency is never discharged."""
    early = {"$in": ["consultation", "diagnostics", "treatment"]}
    stages = ["discharge", early] if rng.random() < 0.7 else [early, "discharge"]
    for stage in stages:
        flows = list(
            db.workflows.find(
                {**ACTIVE, "stage": stage, "priority": {"$ne": "emergency"}}, {"patientId": 1}
            )
        )
        rng.shuffle(flows)
        for start in range(0, min(len(flows), 200), 50):
            ids = [flow["patientId"] for flow in flows[start : start + 50]]
            found = list(
                db.patients.find(
                    {"_id": {"$in": ids}, **ACTIVE, "status": status},
                    {"status": 1, "departmentId": 1, "admittedAt": 1, "roomId": 1},
                )
            )
            if found:
                return rng.choice(found)
    return None


def discharge_patient(
    db: Any, rng: random.Random, now: dt.datetime, status: str = "admitted"
) -> int:
    """A patient (of `status`) goes home: a bed frees up, the pathway closes, a bill is raised."""
    t = now.astimezone(UTC)
    patient = _ready_to_go(db, rng, status)
    if (
        patient is None
        or not db.patients.update_one(
            {"_id": patient["_id"], "status": patient["status"]},
            {"$set": {"status": "discharged", "dischargedAt": t}, "$unset": {"roomId": ""}},
        ).modified_count
    ):
        return 0
    code, changes = patient["departmentId"], 1
    if patient.get("roomId") is not None:
        changes += _vacate_bed(db, patient["roomId"], t)
    changes += db.workflows.update_many(
        {"patientId": patient["_id"], "stage": {"$ne": "done"}},
        {"$set": {"stage": "done", "updatedAt": t, "resolvedAt": t}},
    ).modified_count
    if "admittedAt" in patient:
        days = max(1, (t - aware(patient["admittedAt"])).days)
        cents = stay_charge(rng, code, days)
        bill = new_bill(rng, patient, t, cents, f"Inpatient stay, {days} days", 0)
    else:
        bill = new_bill(rng, patient, t, visit_fee(rng, code), "Visit", 0.5)
    db.bills.insert_one(bill)
    return changes + 1


def send_home(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """An outpatient has been seen and goes home: the pathway closes and the visit is billed."""
    return discharge_patient(db, rng, now, status="outpatient")


# --- workflows ----------------------------------------------------------------------------------
def advance_workflow(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """A pathway moves to its next stage (up to `discharge`; `done` comes with the discharge)."""
    t = now.astimezone(UTC)
    # Leaving triage is seeing the patient (see_patient), which stamps the patient too.
    advancing = [stage for stage in NEXT_STAGE if stage != "triage"]
    flow = pick(db.workflows, {**ACTIVE, "stage": {"$in": advancing}}, rng, "stage")
    if flow is None:
        return 0
    return db.workflows.update_one(
        {"_id": flow["_id"], "stage": flow["stage"]},
        {"$set": {"stage": NEXT_STAGE[flow["stage"]], "updatedAt": t}},
    ).modified_count


def raise_emergency(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """An emergency: a critical arrival at the ER, or an inpatient who deteriorates (a rapid
    response: a pathway of its own, started now, beside their ward care)."""
    if db.workflows.count_documents(OPEN_EMERGENCY) >= MAX_OPEN_EMERGENCIES:
        return 0
    t = now.astimezone(UTC)
    if rng.random() < 0.5:
        patient = pick(db.patients, {**ACTIVE, "status": "admitted"}, rng, "departmentId")
        if patient is not None:
            db.workflows.insert_one(
                {
                    "_id": new_id(rng, t),
                    "patientId": patient["_id"],
                    "departmentId": patient.get("departmentId"),
                    "stage": "triage",
                    "priority": "emergency",
                    "startedAt": t,
                    "updatedAt": t,
                    "isActive": True,
                }
            )
            return 1
    return new_patient(db, rng, "ER", 1, t)


def advance_emergency(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """An open emergency moves on a stage: assessed, investigated, treated, handed over. Some
    are treated in intensive care (the pathway moves there)."""
    t = now.astimezone(UTC)
    flow = pick(
        db.workflows,
        {**OPEN_EMERGENCY, "stage": {"$in": list(NEXT_STAGE)}},
        rng,
        "stage",
        "departmentId",
    )
    if flow is None:
        return 0
    stage = NEXT_STAGE[flow["stage"]]
    moved = {"stage": stage, "updatedAt": t}
    if stage == "treatment" and flow.get("departmentId") != "ICU" and rng.random() < TO_ICU:
        moved["departmentId"] = "ICU"
    return db.workflows.update_one(
        {"_id": flow["_id"], "stage": flow["stage"], "resolvedAt": None}, {"$set": moved}
    ).modified_count


def resolve_emergency(db: Any, rng: random.Random, now: dt.datetime) -> int:
    """An emergency handed over is over: its pathway is resolved, and a patient with no other
    open pathway (a critical arrival) goes on in a new, urgent one.

    The day plan lets each open emergency end at the same rate, so the more
    there are, the more end: the count settles where as many end as start.
    """
    t = now.astimezone(UTC)
    handed_over = {**OPEN_EMERGENCY, "stage": "discharge"}
    flows = list(db.workflows.find(handed_over, {"patientId": 1, "departmentId": 1}))
    if not flows:
        return 0
    flow = rng.choice(flows)
    if not db.workflows.update_one(
        {"_id": flow["_id"], "resolvedAt": None},
        {"$set": {"stage": "done", "resolvedAt": t, "updatedAt": t}},
    ).modified_count:
        return 0
    still_open = {**ACTIVE, "patientId": flow["patientId"], "stage": {"$ne": "done"}}
    if db.workflows.count_documents(still_open):
        return 1
    db.workflows.insert_one(
        {
            "_id": new_id(rng, t),
            "patientId": flow["patientId"],
            "departmentId": flow["departmentId"],
            "stage": "treatment",
            "priority": "urgent",
            "startedAt": t,
            "updatedAt": t,
            "isActive": True,
        }
    )
    return 2
