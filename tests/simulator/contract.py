"""The contract's field rules (CONTRACT.md section 1) as a checker the simulator's tests share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from simulator.hospital import (
    APPOINTMENT_STATUSES,
    BILL_STATUSES,
    COLLECTIONS,
    DEPARTMENT_CODES,
    PATIENT_STATUSES,
    PRIORITIES,
    ROOM_STATUSES,
    ROOM_TYPES,
    STAFF_ROLES,
    STAFF_STATUSES,
    WORKFLOW_STAGES,
)

SLACK = dt.timedelta(seconds=1)  # stored dates lose their microseconds


def aware(value):
    """Stores give naive UTC datetimes back; generated documents hold aware ones."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _problems(name: str, doc: dict, now: dt.datetime) -> Iterable[str]:
    def is_time(field: str) -> bool:
        return isinstance(doc.get(field), dt.datetime)

    def past(field: str) -> bool:
        return is_time(field) and aware(doc[field]) <= now + SLACK

    def order(earlier: str, later: str) -> bool:
        return aware(doc[earlier]) <= aware(doc[later]) + SLACK

    yield from ([] if isinstance(doc.get("isActive"), bool) else ["isActive missing"])
    if name != "departments":
        yield from ([] if doc.get("departmentId") in DEPARTMENT_CODES else ["bad departmentId"])
    if name == "departments":
        if doc["_id"] not in DEPARTMENT_CODES or not doc.get("name"):
            yield "bad department"
    elif name == "patients":
        if doc.get("status") not in PATIENT_STATUSES:
            yield "bad status"
        if doc.get("triageLevel") not in (1, 2, 3, 4, 5):
            yield "bad triageLevel"
        if not (isinstance(doc.get("mrn"), str) and doc.get("name") and past("registeredAt")):
            yield "mrn, name or registeredAt"
        if ("dischargedAt" in doc) != (doc["status"] == "discharged"):
            yield "dischargedAt without discharge (or the reverse)"
        elif "dischargedAt" in doc and not (
            past("dischargedAt") and order("registeredAt", "dischargedAt")
        ):
            yield "dischargedAt out of order"
        if doc["status"] == "admitted" and not past("admittedAt"):
            yield "admitted without admittedAt"
    elif name == "appointments":
        if doc.get("status") not in APPOINTMENT_STATUSES or not is_time("scheduledAt"):
            yield "bad status or scheduledAt"
        if doc.get("patientId") is None or doc.get("staffId") is None:
            yield "no patient or staff"
        if ("completedAt" in doc) != (doc["status"] == "completed"):
            yield "completedAt without completion (or the reverse)"
        if doc["status"] in ("checked_in", "completed") and not past("checkedInAt"):
            yield "checked in without checkedInAt"
        if doc["status"] in ("completed", "no_show") and not past("scheduledAt"):
            yield "completed or missed in the future"
    elif name == "rooms":
        if doc.get("type") not in ROOM_TYPES or doc.get("status") not in ROOM_STATUSES:
            yield "bad type or status"
        capacity, beds = doc.get("capacity"), doc.get("occupiedBeds")
        if not (
            isinstance(capacity, int)
            and isinstance(beds, int)
            and 0 <= beds <= capacity
            and capacity >= 1
            and doc.get("number")
        ):
            yield "beds out of range"
        elif (doc["status"] == "occupied") != (beds > 0):
            yield "status disagrees with occupiedBeds"
    elif name == "bills":
        if doc.get("status") not in BILL_STATUSES or not past("createdAt"):
            yield "bad status or createdAt"
        if not (type(doc.get("amountCents")) is int and doc["amountCents"] > 0):
            yield "amountCents not a positive int"
        if doc.get("currency") != "USD" or doc.get("patientId") is None:
            yield "currency or patient"
        if ("paidAt" in doc) != (doc["status"] == "paid"):
            yield "paidAt on an unpaid bill (or missing)"
        elif "paidAt" in doc and not (past("paidAt") and order("createdAt", "paidAt")):
            yield "paidAt out of order"
    elif name == "workflows":
        if doc.get("stage") not in WORKFLOW_STAGES or doc.get("priority") not in PRIORITIES:
            yield "bad stage or priority"
        if not (past("startedAt") and past("updatedAt") and order("startedAt", "updatedAt")):
            yield "startedAt/updatedAt"
        if ("resolvedAt" in doc) != (doc["stage"] == "done"):
            yield "resolvedAt without resolution (or the reverse)"
        elif "resolvedAt" in doc and not (past("resolvedAt") and order("startedAt", "resolvedAt")):
            yield "resolvedAt out of order"
    elif name == "staff":
        if doc.get("role") not in STAFF_ROLES or doc.get("status") not in STAFF_STATUSES:
            yield "bad role or status"
        if not (doc.get("name") and past("lastSeenAt")):
            yield "name or lastSeenAt"
    for field, value in doc.items():
        if isinstance(value, dt.datetime) and value.tzinfo not in (None, dt.UTC):
            yield f"{field} is not in UTC"


def violations(documents: dict[str, Iterable[dict]], now: dt.datetime) -> list[str]:
    """Every broken rule, as 'collection _id: problem' (empty when all is well)."""
    return [
        f"{name} {doc.get('_id')}: {problem}"
        for name, docs in documents.items()
        for doc in docs
        for problem in _problems(name, doc, now)
    ]


def beds_out_of_place(documents: dict[str, list[dict]]) -> list[str]:
    """Bedded rooms whose occupiedBeds is not the number of admitted patients placed in them."""
    placed: dict = {}
    for patient in documents["patients"]:
        if patient["isActive"] and patient["status"] == "admitted" and "roomId" in patient:
            placed[patient["roomId"]] = placed.get(patient["roomId"], 0) + 1
    return [
        f"room {room['_id']}: {room['occupiedBeds']} beds taken, {placed.get(room['_id'], 0)} "
        "patients"
        for room in documents["rooms"]
        if room["type"] in ("ward", "icu") and room["occupiedBeds"] != placed.get(room["_id"], 0)
    ]


def stored(db) -> dict[str, list[dict]]:
    """Everything in the hospital, collection by collection."""
    return {name: list(db[name].find({})) for name in COLLECTIONS}
