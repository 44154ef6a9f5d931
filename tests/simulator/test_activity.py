"""Each activity event makes the write it claims, and the hospital stays within the contract."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from bson import ObjectId

from simulator import activity
from simulator.activity import HOSPITAL_EVENTS, MAX_OPEN_EMERGENCIES, ROUTINE, routine
from simulator.activity.appointments import (
    appointment_clock,
    book_appointment,
    cancel_appointment,
)
from simulator.activity.patients import (
    admit_patient,
    advance_emergency,
    advance_workflow,
    discharge_patient,
    raise_emergency,
    register_patient,
    resolve_emergency,
    see_patient,
    send_home,
)
from simulator.activity.routine import note_observation
from simulator.activity.staff import clock_in, clock_out, end_break, take_break

from .contract import aware, beds_out_of_place, stored, violations

UTC = dt.UTC


@pytest.fixture
def t(now):
    """`now` as stored: UTC."""
    return now.astimezone(UTC)


def rng(seed: int = 1) -> random.Random:
    return random.Random(seed)


def add(db, collection: str, **fields) -> dict:
    """Insert a minimal valid document of `collection` with `fields` on top."""
    t = dt.datetime(2025, 3, 12, 14, 0, tzinfo=UTC)
    base = {
        "patients": {
            "mrn": "MRN10000001",
            "name": "Ada Lovelace",
            "departmentId": "CARD",
            "status": "outpatient",
            "triageLevel": 3,
            "registeredAt": t,
            "seenAt": t,  # seen by a clinician (an outpatient waiting to be seen has none)
        },
        "rooms": {
            "number": "201",
            "departmentId": "CARD",
            "type": "ward",
            "status": "available",
            "capacity": 2,
            "occupiedBeds": 0,
            "equipment": ["monitor"],
            "createdAt": t,
        },
        "appointments": {
            "patientId": ObjectId(),
            "departmentId": "CARD",
            "staffId": ObjectId(),
            "scheduledAt": t,
            "status": "scheduled",
            "createdAt": t,
        },
        "bills": {
            "patientId": ObjectId(),
            "departmentId": "CARD",
            "amountCents": 12000,
            "currency": "USD",
            "status": "pending",
            "createdAt": t,
        },
        "workflows": {
            "patientId": ObjectId(),
            "departmentId": "CARD",
            "stage": "triage",
            "priority": "normal",
            "startedAt": t,
            "updatedAt": t,
        },
        "staff": {
            "name": "Grace Hopper",
            "role": "nurse",
            "departmentId": "CARD",
            "status": "on_duty",
            "lastSeenAt": t,
        },
    }[collection]
    doc = {"_id": ObjectId(), **base, "isActive": True, **fields}
    db[collection].insert_one(doc)
    return doc


def get(db, collection: str, doc: dict) -> dict | None:
    """The stored version of `doc`, dates made aware again (stores give naive UTC back)."""
    found = db[collection].find_one({"_id": doc["_id"]})
    return None if found is None else {key: aware(value) for key, value in found.items()}


def new_ones(db, collection: str, before: list[dict]) -> list[dict]:
    known = {doc["_id"] for doc in before}
    return [doc for doc in db[collection].find({}) if doc["_id"] not in known]


def contract_kept(db, now) -> bool:
    problems = violations(stored(db), now)
    assert problems == []
    return True


# --- patients -----------------------------------------------------------------------------------
def test_registration_inserts_an_outpatient_and_a_triage_workflow(hospital_db, now, t):
    assert register_patient(hospital_db, rng(), now) == 2

    patient = hospital_db.patients.find_one({})
    flow = hospital_db.workflows.find_one({})
    assert patient["status"] == "outpatient" and aware(patient["registeredAt"]) == t.replace(
        microsecond=t.microsecond // 1000 * 1000
    )
    assert flow["patientId"] == patient["_id"] and flow["stage"] == "triage"
    assert flow["priority"] == "emergency" or patient["triageLevel"] > 1
    assert contract_kept(hospital_db, now)


def test_admission_takes_a_free_bed_in_the_department(hospital_db, now, t):
    patient = add(hospital_db, "patients")
    room = add(hospital_db, "rooms", status="occupied", occupiedBeds=1)
    add(hospital_db, "patients", status="admitted", admittedAt=t, roomId=room["_id"])
    add(hospital_db, "rooms", departmentId="NEURO")  # another department's free bed

    assert admit_patient(hospital_db, rng(), now) == 2

    admitted = get(hospital_db, "patients", patient)
    assert admitted["status"] == "admitted" and admitted["roomId"] == room["_id"]
    assert admitted["admittedAt"] >= t - dt.timedelta(seconds=1)
    assert get(hospital_db, "rooms", room)["occupiedBeds"] == 2
    assert contract_kept(hospital_db, now)
    assert beds_out_of_place(stored(hospital_db)) == []


def test_admission_without_a_free_bed_boards_the_patient(hospital_db, now):
    patient = add(hospital_db, "patients")
    full = add(hospital_db, "rooms", status="occupied", occupiedBeds=2)
    cleaning = add(hospital_db, "rooms", status="cleaning")

    assert admit_patient(hospital_db, rng(), now) == 1

    assert get(hospital_db, "patients", patient)["status"] == "admitted"
    assert "roomId" not in get(hospital_db, "patients", patient)
    assert (
        get(hospital_db, "rooms", full) == full and get(hospital_db, "rooms", cleaning) == cleaning
    )


def test_the_er_admits_mostly_to_the_wards_and_critical_patients_to_intensive_care(
    hospital_db, now
):
    moved = Counter()
    for seed in range(60):
        patient = add(hospital_db, "patients", departmentId="ER", triageLevel=1 + seed % 2 * 2)
        flow = add(hospital_db, "workflows", patientId=patient["_id"], departmentId="ER")
        admit_patient(hospital_db, rng(seed), now)
        admitted = get(hospital_db, "patients", patient)
        assert get(hospital_db, "workflows", flow)["departmentId"] == admitted["departmentId"]
        moved[admitted["triageLevel"], admitted["departmentId"]] += 1
    assert moved[1, "ICU"] > 5 and moved[3, "ICU"] == 0  # intensive care: the critical only
    assert sum(n for (_, code), n in moved.items() if code not in ("ER", "ICU")) > 20
    assert moved[3, "ER"] > 0  # some stay in the ER's observation beds


def test_discharge_frees_the_bed_closes_the_pathway_and_bills_the_stay(hospital_db, now, t):
    room = add(hospital_db, "rooms", status="occupied", occupiedBeds=2, capacity=2)
    patient = add(
        hospital_db,
        "patients",
        status="admitted",
        roomId=room["_id"],
        admittedAt=t - dt.timedelta(days=3),
    )
    flow = add(hospital_db, "workflows", patientId=patient["_id"], stage="discharge")

    assert discharge_patient(hospital_db, rng(), now) == 4

    discharged = get(hospital_db, "patients", patient)
    assert discharged["status"] == "discharged" and "roomId" not in discharged
    assert get(hospital_db, "rooms", room)["occupiedBeds"] == 1
    closed = get(hospital_db, "workflows", flow)
    assert closed["stage"] == "done" and closed["resolvedAt"] == closed["updatedAt"]
    bill = hospital_db.bills.find_one({"patientId": patient["_id"]})
    assert bill["description"] == "Inpatient stay, 3 days" and bill["status"] == "pending"
    assert contract_kept(hospital_db, now)


def test_the_last_patient_out_sends_the_room_to_cleaning(hospital_db, now, t):
    room = add(hospital_db, "rooms", status="occupied", occupiedBeds=1)
    patient = add(hospital_db, "patients", status="admitted", roomId=room["_id"], admittedAt=t)
    add(hospital_db, "workflows", patientId=patient["_id"], stage="discharge")

    assert discharge_patient(hospital_db, rng(), now) == 4

    assert get(hospital_db, "rooms", room)["status"] == "cleaning"
    assert get(hospital_db, "rooms", room)["occupiedBeds"] == 0


def test_discharge_with_no_one_to_discharge_writes_nothing(hospital_db, now):
    add(hospital_db, "patients", status="discharged", dischargedAt=now)
    add(hospital_db, "patients", status="outpatient", isActive=False)

    assert discharge_patient(hospital_db, rng(), now) == 0
    assert hospital_db.bills.count_documents({}) == 0


# --- appointments -------------------------------------------------------------------------------
def test_bookings_are_for_office_hours_later_today_or_a_day_of_the_week_ahead(small_hospital, now):
    before = list(small_hospital.appointments.find({}))
    for seed in range(30):
        assert book_appointment(small_hospital, rng(seed), now) == 1

    booked = new_ones(small_hospital, "appointments", before)
    slots = [aware(b["scheduledAt"]).astimezone(now.tzinfo) for b in booked]
    assert all(b["status"] == "scheduled" for b in booked)
    assert all(8 <= at.hour < 18 and at.minute % 20 == 0 for at in slots)
    assert all(
        at >= now + dt.timedelta(minutes=30) and at.date() <= now.date() + dt.timedelta(7)
        for at in slots
    )
    later_days = [at for at in slots if at.date() > now.date()]
    assert 20 <= len(later_days) < 30  # mostly the week ahead, now and then later today


def test_after_hours_bookings_are_for_another_day(small_hospital, now):
    evening = now.replace(hour=19)
    before = list(small_hospital.appointments.find({}))

    assert book_appointment(small_hospital, rng(), evening) == 1

    (booked,) = new_ones(small_hospital, "appointments", before)
    assert aware(booked["scheduledAt"]).astimezone(now.tzinfo).date() > now.date()


def test_the_appointment_clock_checks_in_sees_and_bills_patients_around_their_slot(
    hospital_db, now, t
):
    slot = t.replace(minute=0, second=0, microsecond=0)  # 10:00 local
    booked = [
        add(hospital_db, "appointments", scheduledAt=slot, patientId=ObjectId()) for _ in range(40)
    ]
    fates = {}
    for minutes in range(-30, 91, 2):  # the clock looks every two minutes
        moment = now.replace(minute=0, second=0) + dt.timedelta(minutes=minutes)
        appointment_clock(hospital_db, rng(minutes + 100), moment)
        for doc in booked:
            status = get(hospital_db, "appointments", doc)["status"]
            fates.setdefault((doc["_id"], status), minutes)

    statuses = Counter(get(hospital_db, "appointments", doc)["status"] for doc in booked)
    assert set(statuses) <= {"completed", "no_show"} and statuses["completed"] >= 30
    for doc in booked:
        stored_doc = get(hospital_db, "appointments", doc)
        if stored_doc["status"] == "no_show":
            assert fates[doc["_id"], "no_show"] in (30, 32)  # half an hour late
            continue
        checked_in, completed = stored_doc["checkedInAt"], stored_doc["completedAt"]
        assert slot - dt.timedelta(minutes=21) <= checked_in <= slot + dt.timedelta(minutes=11)
        assert slot + dt.timedelta(minutes=15) <= completed <= slot + dt.timedelta(minutes=48)
        bill = hospital_db.bills.find_one({"appointmentId": doc["_id"]})
        assert bill["patientId"] == doc["patientId"] and bill["description"] == "Consultation"
    assert contract_kept(hospital_db, now + dt.timedelta(minutes=90))


def test_the_appointment_clock_does_nothing_while_the_clinics_are_closed(hospital_db, now, t):
    late = add(hospital_db, "appointments", scheduledAt=t - dt.timedelta(hours=3))
    night = now.replace(hour=22)

    assert appointment_clock(hospital_db, rng(), night) == 0
    assert get(hospital_db, "appointments", late)["status"] == "scheduled"
    assert appointment_clock(hospital_db, rng(), now) == 1  # the morning after: a no-show


def test_cancellations_are_of_upcoming_appointments(hospital_db, now, t):
    past = add(hospital_db, "appointments", scheduledAt=t - dt.timedelta(hours=2))
    soon = add(hospital_db, "appointments", scheduledAt=t + dt.timedelta(minutes=30))
    later = add(hospital_db, "appointments", scheduledAt=t + dt.timedelta(days=2))

    assert cancel_appointment(hospital_db, rng(), now) == 1

    assert get(hospital_db, "appointments", later)["status"] == "cancelled"
    assert get(hospital_db, "appointments", past)["status"] == "scheduled"
    assert get(hospital_db, "appointments", soon)["status"] == "scheduled"


# --- rooms --------------------------------------------------------------------------------------
def test_short_stay_rooms_turn_over_and_keep_beds_consistent(hospital_db, now):
    room = add(hospital_db, "rooms", type="consult", capacity=1)
    seen = set()
    for seed in range(40):
        before = get(hospital_db, "rooms", room)["status"]
        assert activity.turn_over_room(hospital_db, rng(seed), now) == 1
        after = get(hospital_db, "rooms", room)
        seen.add((before, after["status"]))
        assert (after["status"] == "occupied") == (after["occupiedBeds"] == 1)
    assert {("available", "occupied"), ("occupied", "cleaning"), ("cleaning", "available")} <= seen
    assert seen <= {
        ("available", "occupied"),
        ("occupied", "cleaning"),
        ("cleaning", "available"),
        ("available", "maintenance"),
        ("maintenance", "available"),
    }


def test_a_refitted_room_is_replaced_whole(hospital_db, now):
    room = add(hospital_db, "rooms", status="maintenance", equipment=["crib"])
    stream = hospital_db.rooms.watch(max_await_time_ms=100)

    assert activity.replace_room(hospital_db, rng(), now) == 1

    assert stream.try_next()["operationType"] == "replace"
    refitted = get(hospital_db, "rooms", room)
    assert {key: refitted[key] for key in ("number", "departmentId", "type")} == {
        "number": "201",
        "departmentId": "CARD",
        "type": "ward",
    }
    assert refitted["status"] == "available" and "refittedAt" in refitted
    assert contract_kept(hospital_db, now)


# --- bills --------------------------------------------------------------------------------------
def test_paying_a_bill_stamps_paid_at_and_leaves_others(hospital_db, now, t):
    pending = add(hospital_db, "bills")
    void = add(hospital_db, "bills", status="void")

    assert activity.pay_bill(hospital_db, rng(), now) == 1

    paid = get(hospital_db, "bills", pending)
    assert paid["status"] == "paid" and abs(aware(paid["paidAt"]) - t) < dt.timedelta(seconds=1)
    assert get(hospital_db, "bills", void) == void


def test_voiding_and_charging_bills(hospital_db, now):
    pending = add(hospital_db, "bills")
    add(hospital_db, "patients", status="admitted", admittedAt=now)

    assert activity.void_bill(hospital_db, rng(), now) == 1
    assert activity.create_bill(hospital_db, rng(), now) == 1

    assert get(hospital_db, "bills", pending)["status"] == "void"
    assert hospital_db.bills.count_documents({"status": "pending"}) == 1
    assert contract_kept(hospital_db, now)


# --- workflows ----------------------------------------------------------------------------------
def test_a_pathway_advances_one_stage(hospital_db, now):
    flow = add(hospital_db, "workflows", stage="diagnostics")
    add(hospital_db, "workflows", stage="discharge")  # moves on with the discharge only

    assert advance_workflow(hospital_db, rng(), now) == 1
    assert get(hospital_db, "workflows", flow)["stage"] == "treatment"


def test_emergencies_are_raised_up_to_a_cap(hospital_db, now):
    open_emergency = {"priority": "emergency", "resolvedAt": None, "isActive": True}
    add(hospital_db, "workflows")
    for seed in range(4):
        assert raise_emergency(hospital_db, rng(seed), now) >= 1
    assert hospital_db.workflows.count_documents(open_emergency) == 4

    for _ in range(MAX_OPEN_EMERGENCIES - 4):
        add(hospital_db, "workflows", priority="emergency")
    assert raise_emergency(hospital_db, rng(), now) == 0
    assert contract_kept(hospital_db, now)


def test_a_resolved_emergency_is_done_and_care_goes_on_in_a_new_pathway(hospital_db, now):
    emergencies = [
        add(hospital_db, "workflows", priority="emergency", stage="discharge") for _ in range(5)
    ]

    assert resolve_emergency(hospital_db, rng(), now) == 2

    (resolved,) = hospital_db.workflows.find({"resolvedAt": {"$ne": None}})
    assert resolved["stage"] == "done" and resolved["priority"] == "emergency"
    (follow_up,) = new_ones(hospital_db, "workflows", emergencies)
    assert follow_up["patientId"] == resolved["patientId"]
    assert (follow_up["stage"], follow_up["priority"]) == ("treatment", "urgent")
    assert contract_kept(hospital_db, now)


def test_only_an_emergency_handed_over_is_resolved(hospital_db, now):
    for stage in ("triage", "consultation", "diagnostics", "treatment"):
        add(hospital_db, "workflows", priority="emergency", stage=stage)

    assert resolve_emergency(hospital_db, rng(), now) == 0
    assert hospital_db.workflows.count_documents({"resolvedAt": {"$ne": None}}) == 0


def test_a_resolved_deterioration_leaves_the_ward_pathway_to_go_on(hospital_db, now):
    patient = add(hospital_db, "patients", status="admitted", admittedAt=now)
    ward = add(hospital_db, "workflows", patientId=patient["_id"], stage="treatment")
    add(hospital_db, "workflows", patientId=patient["_id"], priority="emergency", stage="discharge")

    assert resolve_emergency(hospital_db, rng(), now) == 1

    assert hospital_db.workflows.count_documents({"patientId": patient["_id"]}) == 2
    assert get(hospital_db, "workflows", ward)["stage"] == "treatment"
    assert contract_kept(hospital_db, now)


def test_a_deterioration_is_an_emergency_pathway_of_its_own_started_now(hospital_db, now):
    patient = add(hospital_db, "patients", status="admitted", admittedAt=now, departmentId="CARD")
    ward = add(hospital_db, "workflows", patientId=patient["_id"], stage="treatment")
    raised = [raise_emergency(hospital_db, rng(seed), now) for seed in range(6)]

    deteriorations = list(
        hospital_db.workflows.find({"patientId": patient["_id"], "priority": "emergency"})
    )
    assert deteriorations and raised.count(1) == len(deteriorations)
    for flow in deteriorations:
        assert (flow["stage"], flow["departmentId"]) == ("triage", "CARD")
        assert abs(aware(flow["startedAt"]) - now) < dt.timedelta(seconds=1)
    assert get(hospital_db, "workflows", ward)["priority"] != "emergency"
    assert contract_kept(hospital_db, now)


def test_an_emergency_moves_a_stage_at_a_time_up_to_its_handover(hospital_db, now):
    flow = add(hospital_db, "workflows", priority="emergency", stage="triage", departmentId="ER")
    stages = []
    for seed in range(6):
        advance_emergency(hospital_db, rng(seed), now)
        stages.append(get(hospital_db, "workflows", flow)["stage"])

    assert stages[:4] == ["consultation", "diagnostics", "treatment", "discharge"]
    assert stages[4:] == ["discharge", "discharge"]  # then it waits to be resolved
    assert get(hospital_db, "workflows", flow)["departmentId"] in ("ER", "ICU")
    assert contract_kept(hospital_db, now)


def test_an_open_emergency_is_never_discharged(hospital_db, now):
    patient = add(hospital_db, "patients", status="admitted", admittedAt=now)
    add(hospital_db, "workflows", patientId=patient["_id"], stage="discharge", priority="emergency")

    assert all(discharge_patient(hospital_db, rng(seed), now) == 0 for seed in range(10))


def test_sending_home_discharges_an_outpatient_only(hospital_db, now):
    inpatient = add(hospital_db, "patients", status="admitted", admittedAt=now)
    outpatient = add(hospital_db, "patients", status="outpatient")
    for patient in (inpatient, outpatient):
        add(hospital_db, "workflows", patientId=patient["_id"], stage="discharge")

    assert send_home(hospital_db, rng(), now) == 3  # patient, pathway, the visit's bill

    assert get(hospital_db, "patients", outpatient)["status"] == "discharged"
    assert get(hospital_db, "patients", inpatient)["status"] == "admitted"
    bill = hospital_db.bills.find_one({"patientId": outpatient["_id"]})
    assert bill["description"] == "Visit"


# --- staff and deletions ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "before", "after"),
    [
        (clock_in, "off_duty", "on_duty"),
        (clock_out, "on_duty", "off_duty"),
        (take_break, "on_duty", "on_break"),
        (end_break, "on_break", "on_duty"),
    ],
)
def test_shift_moves_change_one_person_and_stamp_last_seen(hospital_db, now, event, before, after):
    people = [add(hospital_db, "staff", status=before) for _ in range(3)]
    add(hospital_db, "staff", status="on_break" if before != "on_break" else "off_duty")

    assert event(hospital_db, rng(), now + dt.timedelta(minutes=5)) == 1

    moved = [get(hospital_db, "staff", p) for p in people]
    moved = [p for p in moved if p["status"] != before]
    assert len(moved) == 1 and moved[0]["status"] == after
    assert moved[0]["lastSeenAt"] > aware(people[0]["lastSeenAt"])


def test_a_duplicate_registration_is_soft_deleted_with_its_pathway(hospital_db, now, t):
    duplicate = add(hospital_db, "patients", registeredAt=t - dt.timedelta(hours=2))
    flow = add(hospital_db, "workflows", patientId=duplicate["_id"])

    assert activity.soft_delete(hospital_db, rng(), now) == 2

    assert get(hospital_db, "patients", duplicate)["isActive"] is False
    assert get(hospital_db, "workflows", flow)["isActive"] is False


def test_the_purge_hard_deletes_a_soft_deleted_document(hospital_db, now):
    gone = add(hospital_db, "bills", status="void", isActive=False)
    kept = add(hospital_db, "bills", status="void")

    assert activity.hard_delete(hospital_db, rng(), now) == 1

    assert get(hospital_db, "bills", gone) is None and get(hospital_db, "bills", kept) == kept


# --- all events on a real hospital --------------------------------------------------------------
def test_every_event_writes_what_it_reports_and_keeps_the_contract(small_hospital, now):
    t = now.astimezone(UTC)  # appointments due about now, whatever the seed drew
    for minutes in (-20, -10):
        add(
            small_hospital,
            "appointments",
            status="checked_in",
            checkedInAt=t,
            scheduledAt=t + dt.timedelta(minutes=minutes),
        )
    for minutes in (-40, 10, 20):
        add(small_hospital, "appointments", scheduledAt=t + dt.timedelta(minutes=minutes))
    add(small_hospital, "workflows", priority="emergency", stage="discharge")  # handed over
    only = {
        "replace_room": {"replace"},
        "hard_delete": {"delete"},
        "register_patient": {"insert"},
        "book_appointment": {"insert"},
        "create_bill": {"insert"},
    }
    routine = {kind: event for kind, (event, _) in ROUTINE.items()}
    for step, (kind, event) in enumerate({**HOSPITAL_EVENTS, **routine}.items()):
        moment = now + dt.timedelta(seconds=100 * step)
        stream = small_hospital.watch(max_await_time_ms=50)
        reported = calls = 0
        while calls < 4 or not reported and calls < 40:  # some events write only now and then
            reported += event(small_hospital, rng(calls), moment + dt.timedelta(seconds=calls))
            calls += 1

        changes = []
        while (change := stream.try_next()) is not None:
            changes.append(change["operationType"])
        stream.close()
        assert reported == len(changes) > 0, kind
        assert set(changes) <= only.get(kind, {"insert", "update"}), kind
        everything = stored(small_hospital)
        assert violations(everything, moment + dt.timedelta(seconds=calls)) == [], kind
        assert beds_out_of_place(everything) == [], kind


def test_a_clinician_sees_the_most_urgent_waiting_patient_first(hospital_db, now):
    t = dt.datetime(2025, 3, 12, 13, 0, tzinfo=UTC)
    early = add(hospital_db, "patients", departmentId="ER", triageLevel=4, seenAt=None)
    urgent = add(
        hospital_db, "patients", departmentId="ER", triageLevel=2, registeredAt=t, seenAt=None
    )
    seen = add(hospital_db, "patients", departmentId="ER", triageLevel=1)
    flow = add(hospital_db, "workflows", patientId=urgent["_id"], departmentId="ER", stage="triage")

    assert see_patient(hospital_db, rng(), now) == 2

    assert get(hospital_db, "patients", urgent)["seenAt"] == now.astimezone(UTC)
    assert get(hospital_db, "workflows", flow)["stage"] == "consultation"
    assert get(hospital_db, "patients", early)["seenAt"] is None
    assert get(hospital_db, "patients", seen) == seen
    assert see_patient(hospital_db, rng(), now) == 1  # the next one (no pathway to move)
    assert see_patient(hospital_db, rng(), now) == 0  # nobody waits


def test_only_patients_seen_by_a_clinician_are_admitted(hospital_db, now):
    add(hospital_db, "patients", departmentId="CARD", seenAt=None)
    assert admit_patient(hospital_db, rng(), now) == 0


def test_routine_writes_choose_from_a_recent_read_and_never_write_what_left_their_filter(
    hospital_db, now, monkeypatch
):
    """Routine writes read their candidates once a minute of hospital time, not at every write;
    a pathway that became an emergency meanwhile is never written, and the write that finds its
    choice gone makes the next one read afresh."""
    monkeypatch.setattr(routine, "_chosen_from", {})  # nothing read by an earlier test
    first = add(hospital_db, "workflows")
    second = add(hospital_db, "workflows")
    reads = []
    collection_class = type(hospital_db.workflows)
    original_find = collection_class.find

    def counting_find(collection, *args, **kwargs):
        if collection.name == "workflows" and args and "stage" in args[0]:
            reads.append(args[0])  # the routine's read (not the test's own lookups)
        return original_find(collection, *args, **kwargs)

    monkeypatch.setattr(collection_class, "find", counting_find)

    def observations(doc):
        return hospital_db.workflows.find_one({"_id": doc["_id"]}).get("observations", 0)

    rng = random.Random(3)
    assert sum(note_observation(hospital_db, rng, now) for _ in range(20)) == 20
    assert len(reads) == 1
    assert observations(first) + observations(second) == 20

    hospital_db.workflows.update_one({"_id": first["_id"]}, {"$set": {"priority": "emergency"}})
    before = observations(first)
    later = now + dt.timedelta(seconds=30)
    written = [note_observation(hospital_db, rng, later) for _ in range(20)]
    assert observations(first) == before  # the emergency is never written
    # Each write that chose the emergency wrote nothing and made the next one read afresh.
    assert written.count(0) <= 1
    assert len(reads) == 1 + written.count(0)

    note_observation(hospital_db, rng, now + dt.timedelta(minutes=2))  # a minute on: read again
    assert len(reads) == 2 + written.count(0)
    assert observations(first) == before
    assert observations(second) == 20 + 20 + 1 - before - written.count(0)
