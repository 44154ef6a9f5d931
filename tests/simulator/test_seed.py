"""The demo hospital: reproducible, the documented size, and every document within the contract."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from simulator.hospital import COLLECTIONS, DEPARTMENTS
from simulator.seed import HospitalNotEmpty, generate, seed_hospital

from .contract import aware, beds_out_of_place, stored, violations


@pytest.fixture(scope="module")
def hospital():
    """The default-sized hospital (20,000 patients), generated once for the module's checks."""
    from .conftest import NOW

    return generate(7, now=NOW)


def local_day(value, now):
    return aware(value).astimezone(now.tzinfo).date()


def test_same_seed_and_moment_give_the_same_documents_ids_included(now):
    assert generate(5, 300, now=now) == generate(5, 300, now=now)


def test_another_seed_gives_another_hospital(now):
    first, second = generate(5, 300, now=now), generate(6, 300, now=now)
    assert [p["_id"] for p in first["patients"]] != [p["_id"] for p in second["patients"]]
    assert [p["name"] for p in first["patients"]] != [p["name"] for p in second["patients"]]


def test_the_moment_must_be_aware():
    with pytest.raises(ValueError):
        generate(1, 10, now=dt.datetime(2025, 3, 12, 10, 30))


def test_sizes_are_the_documented_ones(hospital):
    sizes = {name: len(docs) for name, docs in hospital.items()}
    assert list(sizes) == list(COLLECTIONS)
    assert sizes["departments"] == 8 and sizes["rooms"] == 677 and sizes["staff"] == 763
    # A pathway per patient, and the deteriorations of inpatients open now.
    assert sizes["patients"] == 20000 and 20000 <= sizes["workflows"] <= 20025
    assert 3000 <= sizes["appointments"] <= 4500
    assert 18000 <= sizes["bills"] <= 22000


def test_departments_are_the_demo_logins_codes(hospital):
    assert [(d["_id"], d["name"]) for d in hospital["departments"]] == DEPARTMENTS
    assert [code for code, _ in DEPARTMENTS] == [
        "ER",
        "CARD",
        "NEURO",
        "ORTHO",
        "PED",
        "ONC",
        "RAD",
        "ICU",
    ]


def test_every_document_keeps_the_contract(hospital, now):
    assert violations(hospital, now) == []


def test_ids_are_unique_and_mrns_too(hospital):
    for name, docs in hospital.items():
        assert len({doc["_id"] for doc in docs}) == len(docs), name
    assert len({p["mrn"] for p in hospital["patients"]}) == 20000


def test_references_point_at_existing_documents(hospital):
    patients = {p["_id"] for p in hospital["patients"]}
    staff = {s["_id"] for s in hospital["staff"]}
    for name in ("appointments", "bills", "workflows"):
        assert all(doc["patientId"] in patients for doc in hospital[name]), name
    assert all(a["staffId"] in staff for a in hospital["appointments"])


def test_patients_span_four_weeks_and_today_in_every_status(hospital, now):
    patients = hospital["patients"]
    registered = [p["registeredAt"] for p in patients]
    four_weeks_ago = now.astimezone(dt.UTC) - dt.timedelta(days=28)  # UTC: DST began on the 9th
    assert min(registered) >= four_weeks_ago and max(registered) <= now
    assert sum(local_day(r, now) == now.date() for r in registered) >= 20
    statuses = Counter(p["status"] for p in patients)
    assert statuses["discharged"] > statuses["admitted"] > 100 and statuses["outpatient"] > 100
    assert set(Counter(p["triageLevel"] for p in patients)) == {1, 2, 3, 4, 5}
    assert set(Counter(p["departmentId"] for p in patients)) == {code for code, _ in DEPARTMENTS}


def test_admitted_patients_are_in_beds_that_fill_most_of_the_wards(hospital):
    rooms = hospital["rooms"]
    assert Counter(room["type"] for room in rooms).keys() == {"ward", "icu", "er", "or", "consult"}
    assert beds_out_of_place(hospital) == []
    by_id = {room["_id"]: room for room in rooms}
    admitted = [p for p in hospital["patients"] if p["status"] == "admitted"]
    assert all(by_id[p["roomId"]]["departmentId"] == p["departmentId"] for p in admitted)
    bedded = [room for room in rooms if room["type"] in ("ward", "icu")]
    occupancy = len(admitted) / sum(room["capacity"] for room in bedded)
    assert 0.6 <= occupancy <= 0.95
    assert {"available", "occupied"} <= {room["status"] for room in rooms}
    assert not any("roomId" in p for p in hospital["patients"] if p["status"] != "admitted")


def test_appointments_are_consistent_with_the_time_of_day(hospital, now):
    appointments = hospital["appointments"]
    today = Counter(
        a["status"] for a in appointments if local_day(a["scheduledAt"], now) == now.date()
    )
    assert today["scheduled"] and today["checked_in"] and today["completed"]
    past = {a["status"] for a in appointments if a["scheduledAt"] < now - dt.timedelta(hours=2)}
    assert past == {"completed", "cancelled", "no_show"}
    future = {a["status"] for a in appointments if a["scheduledAt"] > now + dt.timedelta(hours=1)}
    assert future == {"scheduled", "cancelled"}
    hours = {aware(a["scheduledAt"]).astimezone(now.tzinfo).hour for a in appointments}
    assert hours == set(range(8, 18))  # office hours, in the hospital's time zone


def test_bills_are_paid_pending_or_void_some_paid_today(hospital, now):
    bills = hospital["bills"]
    assert Counter(b["status"] for b in bills).keys() == {"paid", "pending", "void"}
    assert sum(local_day(b["paidAt"], now) == now.date() for b in bills if "paidAt" in b) >= 10


def test_a_handful_of_open_emergencies_each_raised_minutes_ago(hospital, now):
    flows = hospital["workflows"]
    open_emergencies = [f for f in flows if f["priority"] == "emergency" and "resolvedAt" not in f]
    assert 4 <= len(open_emergencies) <= 20
    for flow in open_emergencies:
        assert now - dt.timedelta(minutes=30) <= aware(flow["startedAt"]) <= now
    assert sum(f["priority"] == "emergency" and "resolvedAt" in f for f in flows) > 10
    assert {f["stage"] for f in flows} == {
        "triage",
        "consultation",
        "diagnostics",
        "treatment",
        "discharge",
        "done",
    }


def test_staff_work_shifts_in_every_role(hospital):
    staff = hospital["staff"]
    assert Counter(s["role"] for s in staff).keys() == {"doctor", "nurse", "technician", "admin"}
    assert Counter(s["status"] for s in staff).keys() == {"on_duty", "off_duty", "on_break"}


def test_a_few_documents_are_soft_deleted(hospital):
    inactive = {name: sum(not doc["isActive"] for doc in docs) for name, docs in hospital.items()}
    assert inactive["departments"] == 0
    assert 0 < sum(inactive.values()) < 0.02 * sum(len(docs) for docs in hospital.values())


def test_seeding_writes_exactly_the_generated_documents(hospital_db, now):
    result = seed_hospital(hospital_db, seed=3, patients=200, now=now)

    expected = generate(3, 200, now=now)
    assert result.counts == {name: len(docs) for name, docs in expected.items()}
    in_store = stored(hospital_db)
    for name, docs in expected.items():
        by_id = {
            doc["_id"]: {key: aware(value) for key, value in doc.items()} for doc in in_store[name]
        }
        assert by_id == {doc["_id"]: doc for doc in docs}, name


def test_seeding_refuses_to_mix_hospitals_unless_reset_or_if_empty(hospital_db, now):
    seed_hospital(hospital_db, seed=3, patients=50, now=now)

    with pytest.raises(HospitalNotEmpty):
        seed_hospital(hospital_db, seed=4, patients=50, now=now)
    assert seed_hospital(hospital_db, seed=4, patients=50, now=now, if_empty=True).skipped
    seed_hospital(hospital_db, seed=4, patients=80, now=now, reset=True)
    assert hospital_db.patients.count_documents({}) == 80
    assert hospital_db.departments.count_documents({}) == 8
    assert "active_status_department" in hospital_db.patients.index_information()
