"""What the events share: picking a random target, stamping bills and registrations."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.conf import settings
from django.utils import timezone

from ..history import birth_date, new_mrn, priority_for
from ..hospital import new_id
from ..names import person_name
from ..visits import bill_document, desk_open

UTC = dt.UTC
ACTIVE = {"isActive": True}


def pick(collection: Any, filter: dict, rng: random.Random, *fields: str) -> dict | None:
    """A random document among those matching `filter`, with `_id` and `fields` only."""
    candidates = list(collection.find(filter, {name: 1 for name in fields} or {"_id": 1}))
    return rng.choice(candidates) if candidates else None


def aware(value: Any) -> Any:
    """Stored dates come back naive (UTC); what we write back is aware."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def currency() -> str:
    return getattr(settings, "HOSPITAL_CURRENCY", "USD")


def new_bill(
    rng: random.Random,
    patient: dict,
    t: dt.datetime,
    cents: int,
    description: str,
    paid_at_desk: float,
) -> dict:
    """A bill raised at `t`, paid on the spot with the chance `paid_at_desk`."""
    bill = {**bill_document(rng, patient, t, cents, description, currency()), "status": "pending"}
    local = t.astimezone(timezone.get_default_timezone())
    if rng.random() < paid_at_desk * desk_open(local):
        bill.update(status="paid", paidAt=t)
    return bill


def new_patient(db: Any, rng: random.Random, code: str, triage: int, t: dt.datetime) -> int:
    """A registration: the patient and the start of their pathway (two inserts)."""
    patient = {
        "_id": new_id(rng, t),
        "mrn": new_mrn(rng),
        "name": person_name(rng),
        "birthDate": birth_date(rng, code, t),
        "departmentId": code,
        "status": "outpatient",
        "triageLevel": triage,
        "registeredAt": t,
        "isActive": True,
    }
    db.patients.insert_one(patient)
    db.workflows.insert_one(
        {
            "_id": new_id(rng, t),
            "patientId": patient["_id"],
            "departmentId": code,
            "stage": "triage",
            "priority": priority_for(triage, rng),
            "startedAt": t,
            "updatedAt": t,
            "isActive": True,
        }
    )
    return 2


def transition(
    collection: Any,
    rng: random.Random,
    filter: dict,
    field: str,
    old: str,
    new: str,
    t: dt.datetime,
    stamp: str | None = None,
) -> int:
    """Move one random matching document from `old` to `new` (and stamp the moment)."""
    doc = pick(collection, {**filter, field: old}, rng)
    if doc is None:
        return 0
    changes = {field: new, **({stamp: t} if stamp else {})}
    return collection.update_one({"_id": doc["_id"], field: old}, {"$set": changes}).modified_count
