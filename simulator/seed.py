"""The demo hospital, built in memory from a seed and written in bulk through the pymongo API."""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from typing import Any

from metrics.store import ensure_indexes

from . import history, visits
from .hospital import (
    COLLECTIONS,
    DEFAULT_PATIENTS,
    beds_by_department,
    building_scale,
    generate_departments,
    generate_rooms,
    generate_staff,
    occupy_rooms,
)

CHUNK_SIZE = 1000


def generate(
    seed: int, patients: int = DEFAULT_PATIENTS, *, now: dt.datetime, currency: str = "USD"
) -> dict[str, list[dict]]:
    """Every document of the demo hospital by collection. Same seed and `now`: same documents."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (in the hospital's time zone)")
    if patients < 0:
        raise ValueError("patients must not be negative")
    rng = random.Random(seed)
    building = building_scale(patients)
    rooms = generate_rooms(rng, now, building)
    staff = generate_staff(rng, now, building)
    people = history.generate_patients(rng, patients, now, beds_by_department(rooms))
    occupy_rooms(rng, rooms, people, now)
    appointments = visits.generate_appointments(rng, people, staff, now)
    documents = {
        "departments": generate_departments(now),
        "rooms": rooms,
        "staff": staff,
        "patients": people,
        "appointments": appointments,
        "bills": visits.generate_bills(rng, people, appointments, now, currency),
        "workflows": history.generate_workflows(rng, people, now),
    }
    history.soft_delete_a_few(rng, documents)
    return documents


@dataclass
class SeedResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False
    existing_patients: int = 0


class HospitalNotEmpty(Exception):
    """Seeding over existing patients would mix two hospitals (and collide on ids)."""

    def __init__(self, patients: int) -> None:
        super().__init__(f"the hospital already has {patients} patients")
        self.patients = patients


def reset_hospital(db: Any) -> None:
    """Drop the hospital's collections and put the dashboard's indexes back."""
    for name in COLLECTIONS:
        db[name].drop()
    ensure_indexes(db)


def write_documents(
    db: Any, documents: dict[str, list[dict]], chunk_size: int = CHUNK_SIZE
) -> None:
    for name, docs in documents.items():
        for start in range(0, len(docs), chunk_size):
            db[name].insert_many(docs[start : start + chunk_size])


def seed_hospital(
    db: Any,
    *,
    seed: int,
    patients: int = DEFAULT_PATIENTS,
    now: dt.datetime,
    reset: bool = False,
    if_empty: bool = False,
    currency: str = "USD",
) -> SeedResult:
    """Write the demo hospital into `db`; with `if_empty`, leave a hospital with patients alone.

    Raises HospitalNotEmpty rather than mixing a new hospital into an existing one.
    """
    started = time.perf_counter()
    if reset:
        reset_hospital(db)
    existing = db.patients.count_documents({})
    if existing and if_empty:
        return SeedResult(skipped=True, existing_patients=existing)
    if existing:
        raise HospitalNotEmpty(existing)
    documents = generate(seed, patients, now=now, currency=currency)
    write_documents(db, documents)
    return SeedResult(
        counts={name: len(docs) for name, docs in documents.items()},
        seconds=time.perf_counter() - started,
    )
