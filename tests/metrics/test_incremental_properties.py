"""The incremental state equals the full recount after every change, for every metric and scope.

Random sequences of inserts, updates (department and status moves, soft
deletes and un-deletes), replaces, hard deletes, acknowledgements, resyncs and
day rollovers (across daylight-saving days) go through the embedded store with
the pymongo API; the state folds the store's own change events. After every
step each live metric built from the state equals compute_base, and so does
its projection to every scope.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.catalogue import LIVE_METRICS
from metrics.compute import compute_base, project
from metrics.incremental import IncrementalMetrics, differences, readers
from metrics.models import AlertAcknowledgement
from metrics.scope import Scope

from .conftest import empty_store
from .states import CODES, DAYS, documents, moments

# Django's database only holds the users whose scopes are drawn: the PostgreSQL pass leaves these out.
pytestmark = pytest.mark.incidental_database

SCOPES = [Scope.all(), Scope.of(["ER"]), Scope.of(["ER", "CARD"]), Scope.of([]), Scope.of(["X"])]
WATCHED = sorted(readers())
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Run:
    """The store, its change stream, the state folding it, and the hospital's clock."""

    def __init__(self, db, data, zone: ZoneInfo) -> None:
        self.db, self.data, self.zone = db, data, zone
        day = data.draw(st.sampled_from(DAYS), label="day")
        evening = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(18), tzinfo=zone)
        self.now = evening + dt.timedelta(minutes=data.draw(st.integers(0, 359), label="minutes"))
        midnights = [
            dt.datetime.combine(day + dt.timedelta(days=k), dt.time(), tzinfo=zone)
            for k in range(-1, 3)
        ]
        # Local noons too: dischargesToday splits the day there.
        noons = [midnight.replace(hour=12) for midnight in midnights]
        self.when = moments([*midnights, *noons, self.now])
        self.known: dict[str, list] = {name: [] for name in WATCHED}
        self.stream = None
        self.state: IncrementalMetrics | None = None

    # --- the stream and the state --------------------------------------------------------------
    def open_stream(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.stream = self.db.watch(
            [{"$match": {"ns.coll": {"$in": WATCHED}}}],
            full_document="updateLookup",
            max_await_time_ms=0,
        )

    def resync(self) -> None:
        """As the listener does: a new stream first, then the scan; what came between is folded."""
        self.open_stream()
        self.writes()
        self.state = IncrementalMetrics.build(self.db, self.now)

    def drain(self) -> int:
        folded = 0
        while (event := self.stream.try_next()) is not None:
            self.state.apply(event)
            folded += 1
        return folded

    # --- writes --------------------------------------------------------------------------------
    def writes(self) -> None:
        for _ in range(self.data.draw(st.integers(1, 4), label="writes")):
            self.write()

    def write(self) -> None:
        draw = self.data.draw
        name = draw(st.sampled_from(WATCHED), label="collection")
        collection = self.db[name]
        fresh = documents(self.when)[name]
        ids = self.known[name]
        kind = draw(
            st.sampled_from(["insert", "update", "replace", "soft", "undelete", "delete"])
            if ids
            else st.just("insert"),
            label="kind",
        )
        if kind == "insert":
            ids.append(collection.insert_one(draw(fresh, label="document")).inserted_id)
            return
        target = {"_id": draw(st.sampled_from(ids), label="target")}
        if kind == "replace":
            collection.replace_one(target, draw(fresh, label="replacement"))
        elif kind == "delete":
            collection.delete_one(target)
        elif kind in ("soft", "undelete"):
            collection.update_one(target, {"$set": {"isActive": kind == "undelete"}})
        else:
            values = draw(fresh, label="values")
            moved = (
                draw(st.sets(st.sampled_from(sorted(values))), label="moved") if values else set()
            )
            update = {"$set": {field: values[field] for field in moved}} if moved else {}
            removable = sorted(set(values) - moved - {"isActive"})
            if removable and draw(st.booleans(), label="unset"):
                update["$unset"] = {draw(st.sampled_from(removable), label="removed"): ""}
            if update:
                collection.update_one(target, update)

    def acknowledge(self) -> None:
        if self.known["workflows"]:
            alert_id = str(self.data.draw(st.sampled_from(self.known["workflows"]), label="ack"))
            AlertAcknowledgement.objects.get_or_create(
                alert_id=alert_id,
                defaults={"acknowledged_by_username": "admin", "acknowledged_at": self.now},
            )

    # --- time ----------------------------------------------------------------------------------
    def later(self, roll: bool) -> None:
        """The clock moves on (across local midnight or not); the rollover timer may fire."""
        local = self.now.astimezone(self.zone)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), self.zone)
        step = self.data.draw(
            st.one_of(
                st.integers(1, 8 * 3600).map(lambda s: self.now + dt.timedelta(seconds=s)),
                st.integers(0, 3 * 3600).map(lambda s: midnight + dt.timedelta(seconds=s)),
            ),
            label="later",
        )
        self.now = step.astimezone(self.zone)
        if roll:
            self.check()  # before the timer fires: "today" is a lookup by date
            self.state.roll_over(self.now)

    # --- the property --------------------------------------------------------------------------
    def check(self) -> None:
        for metric in LIVE_METRICS:
            kept = self.state.base(metric, self.now)
            recounted = compute_base(metric, now=self.now)
            assert kept == recounted, (metric, self.now, differences(kept, recounted))
            for scope in SCOPES:
                assert project(metric, kept, scope) == project(metric, recounted, scope)


def play(hospital_db, data, zone_name: str) -> None:
    empty_store(hospital_db)
    AlertAcknowledgement.objects.all().delete()
    run = Run(hospital_db, data, ZoneInfo(zone_name))
    for name in WATCHED:  # a hospital before the listener starts
        documents_now = data.draw(st.lists(documents(run.when)[name], max_size=4), label=name)
        if documents_now:
            run.known[name] += hospital_db[name].insert_many(documents_now).inserted_ids
    run.resync()
    run.drain()
    run.check()
    steps = data.draw(
        st.lists(
            st.sampled_from(["writes"] * 6 + ["later", "roll", "resync", "acknowledge"]),
            min_size=1,
            max_size=14,
        ),
        label="steps",
    )
    for step in steps:
        if step == "writes":
            run.writes()
        elif step in ("later", "roll"):
            run.later(roll=step == "roll")
        elif step == "resync":
            run.resync()
        else:
            run.acknowledge()
        run.drain()
        run.check()
    run.stream.close()


@pytest.fixture(params=["America/New_York", "UTC"])
def hospital_settings(request, settings):
    settings.HOSPITAL_CURRENCY = "USD"
    settings.TIME_ZONE = request.param
    return settings


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(data=st.data())
def test_the_incremental_state_equals_the_recount_after_every_step(
    data, hospital_db, hospital_settings
):
    play(hospital_db, data, hospital_settings.TIME_ZONE)


@pytest.mark.django_db
def test_several_events_with_the_same_latest_image_converge(hospital_db, hospital_settings):
    """updateLookup reads the document when the event is read: every event of a burst carries
    the latest version (or none, once deleted), and folding them all converges."""
    now = dt.datetime.now(dt.UTC)
    stream = hospital_db.watch(full_document="updateLookup", max_await_time_ms=0)
    state = IncrementalMetrics.build(hospital_db, now)
    patient = {"isActive": True, "status": "admitted", "departmentId": "ER"}
    first = hospital_db.patients.insert_one(dict(patient)).inserted_id
    second = hospital_db.patients.insert_one(dict(patient)).inserted_id
    hospital_db.patients.update_one({"_id": first}, {"$set": {"departmentId": "CARD"}})
    hospital_db.patients.update_one({"_id": first}, {"$set": {"status": "discharged"}})
    hospital_db.patients.update_one({"_id": second}, {"$set": {"departmentId": "NEURO"}})
    hospital_db.patients.delete_one({"_id": second})
    events = []
    while (event := stream.try_next()) is not None:
        events.append(event)
    updates = [e for e in events if e["operationType"] == "update"]
    # The two updates of `first` carry the same (latest) image; `second`'s none (deleted).
    assert updates[0]["fullDocument"] == updates[1]["fullDocument"]
    assert updates[0]["fullDocument"]["status"] == "discharged"
    assert updates[2]["fullDocument"] is None
    changed = [state.apply(event) for event in events]
    assert changed == [
        ["patientCount"],
        ["patientCount"],
        ["patientCount"],
        [],
        ["patientCount"],
        [],
    ]
    assert state.base("patientCount", now) == compute_base("patientCount", now=now)
    assert state.base("patientCount", now)["departments"] == {}
    assert state.memory()["patientCount"][0] == 0  # nothing counts: nothing shadowed
    stream.close()


@pytest.mark.django_db
def test_a_dropped_collection_empties_its_state(hospital_db, hospital_settings):
    now = dt.datetime.now(dt.UTC)
    hospital_db.staff.insert_many([{"isActive": True, "departmentId": c} for c in CODES])
    stream = hospital_db.watch(full_document="updateLookup", max_await_time_ms=0)
    state = IncrementalMetrics.build(hospital_db, now)
    assert state.base("staffActivity", now)["departments"].keys() == set(CODES)
    hospital_db.staff.drop()
    touched = [metric for event in iter(stream.try_next, None) for metric in state.apply(event)]
    assert touched == ["staffActivity"]
    assert state.base("staffActivity", now) == compute_base("staffActivity", now=now)
    stream.close()


@pytest.mark.django_db
def test_past_days_leave_the_state_when_the_day_rolls_over(hospital_db, hospital_settings):
    zone = ZoneInfo(hospital_settings.TIME_ZONE)
    noon = dt.datetime.combine(DAYS[0], dt.time(12), tzinfo=zone)  # a 23-hour day in New York
    days = [noon + dt.timedelta(days=k) for k in (-1, 0, 1)]
    hospital_db.appointments.insert_many(
        [{"isActive": True, "departmentId": "ER", "scheduledAt": day} for day in days]
    )
    hospital_db.bills.insert_many(
        [
            *(
                {"isActive": True, "status": "paid", "paidAt": day, "currency": "USD"}
                for day in days
            ),
            {"isActive": True, "status": "pending", "amountCents": 5, "currency": "USD"},
        ]
    )
    state = IncrementalMetrics.build(hospital_db, days[0])
    assert state.memory()["todayAppointments"][0] == 3 and state.memory()["revenue"][0] == 4
    assert sorted(state.roll_over(days[1])) == ["dischargesToday", "revenue", "todayAppointments"]
    assert state.memory()["todayAppointments"][0] == 2 and state.memory()["revenue"][0] == 3
    assert state.next_day() == dt.datetime.combine(
        DAYS[0] + dt.timedelta(days=1), dt.time(), tzinfo=zone
    )
    for metric in ("todayAppointments", "revenue"):
        assert state.base(metric, days[1]) == compute_base(metric, now=days[1])
    assert state.roll_over(days[1]) == []  # the same day again: nothing moves


@pytest.mark.django_db
def test_a_document_alone_in_its_group_changes_its_values_then_leaves(
    hospital_db, hospital_settings
):
    now = dt.datetime.now(dt.UTC)
    stream = hospital_db.watch(full_document="updateLookup", max_await_time_ms=0)
    state = IncrementalMetrics.build(hospital_db, now)
    rooms = hospital_db.rooms
    room = rooms.insert_one({"isActive": True, "capacity": 2}).inserted_id
    for write in (
        lambda: rooms.update_one({"_id": room}, {"$set": {"capacity": 3}}),
        lambda: rooms.update_one({"_id": room}, {"$set": {"occupiedBeds": 1}}),
        lambda: rooms.delete_one({"_id": room}),
        lambda: rooms.insert_one({"isActive": True, "capacity": 1}),
    ):
        write()
        for event in iter(stream.try_next, None):
            state.apply(event)
        assert state.base("roomOccupancy", now) == compute_base("roomOccupancy", now=now)
    assert state.memory()["roomOccupancy"][0] == 1
    stream.close()
