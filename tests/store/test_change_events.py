"""Change events in the shape MongoDB documents, for every operation type, on collections and databases."""

import datetime as dt

from bson.timestamp import Timestamp
from pymongo import ASCENDING

from .support import AWAIT_MS, drain, next_events, summary, utcnow


def watch(target, pipeline=None, **options):
    return target.watch(pipeline, max_await_time_ms=AWAIT_MS, **options)


def assert_common_fields(event, db, coll):
    assert isinstance(event["_id"], dict) and isinstance(event["_id"]["_data"], str)
    assert isinstance(event["clusterTime"], Timestamp)
    assert isinstance(event["wallTime"], dt.datetime)
    assert abs(event["wallTime"] - utcnow()) < dt.timedelta(minutes=1)
    assert event["ns"] == {"db": db.name, "coll": coll}


def test_an_insert_event_carries_the_new_document(store_db):
    with watch(store_db.patients) as stream:
        store_db.patients.insert_one({"_id": "p1", "status": "admitted", "isActive": True})
        (event,) = next_events(stream, 1)
    assert event["operationType"] == "insert"
    assert_common_fields(event, store_db, "patients")
    assert event["documentKey"] == {"_id": "p1"}
    assert event["fullDocument"] == {"_id": "p1", "status": "admitted", "isActive": True}
    assert "updateDescription" not in event


def test_an_update_event_describes_the_change_without_the_document_by_default(store_db):
    store_db.patients.insert_one({"_id": "p1", "status": "admitted", "phone": "555", "visits": 1})
    with watch(store_db.patients) as stream:
        store_db.patients.update_one(
            {"_id": "p1"},
            {"$set": {"status": "discharged"}, "$unset": {"phone": ""}, "$inc": {"visits": 2}},
        )
        (event,) = next_events(stream, 1)
    assert event["operationType"] == "update"
    assert_common_fields(event, store_db, "patients")
    assert event["documentKey"] == {"_id": "p1"}
    assert "fullDocument" not in event
    description = event["updateDescription"]
    assert description["updatedFields"] == {"status": "discharged", "visits": 3}
    assert description["removedFields"] == ["phone"]
    assert description["truncatedArrays"] == []


def test_update_lookup_adds_the_document_as_it_is_after_the_update(store_db):
    store_db.rooms.insert_one({"_id": "r1", "status": "available", "occupiedBeds": 0})
    with watch(store_db.rooms, full_document="updateLookup") as stream:
        store_db.rooms.update_one(
            {"_id": "r1"}, {"$set": {"status": "occupied"}, "$inc": {"occupiedBeds": 1}}
        )
        (event,) = next_events(stream, 1)
    assert event["fullDocument"] == {"_id": "r1", "status": "occupied", "occupiedBeds": 1}
    assert event["updateDescription"]["updatedFields"] == {"status": "occupied", "occupiedBeds": 1}


def test_update_lookup_of_a_document_deleted_since_is_null(store_db):
    store_db.rooms.insert_one({"_id": "r1", "status": "available"})
    with watch(store_db.rooms, full_document="updateLookup") as stream:
        store_db.rooms.update_one({"_id": "r1"}, {"$set": {"status": "cleaning"}})
        store_db.rooms.delete_one({"_id": "r1"})
        update, delete = next_events(stream, 2)
    assert update["operationType"] == "update"
    assert update["fullDocument"] is None
    assert delete["operationType"] == "delete"


def test_nested_and_array_changes_are_reported_by_path(store_db):
    store_db.patients.insert_one(
        {"_id": "p1", "vitals": {"pulse": 70, "spo2": 98}, "tags": ["fall"]}
    )
    with watch(store_db.patients) as stream:
        store_db.patients.update_one(
            {"_id": "p1"},
            {
                "$set": {"vitals.pulse": 80, "notes.first": "x"},
                "$push": {"tags": "fracture"},
                "$unset": {"vitals.spo2": ""},
            },
        )
        (event,) = next_events(stream, 1)
    assert event["updateDescription"]["updatedFields"] == {
        "vitals.pulse": 80,
        "notes": {"first": "x"},
        "tags.1": "fracture",
    }
    assert event["updateDescription"]["removedFields"] == ["vitals.spo2"]


def test_array_operators_other_than_an_append_report_the_whole_array(store_db):
    store_db.patients.insert_one(
        {"_id": "p1", "tags": ["a", "b"], "codes": [1], "empty": [], "old": "x", "beds": [3, 2]}
    )
    with watch(store_db.patients) as stream:
        store_db.patients.update_one(
            {"_id": "p1"},
            {
                "$addToSet": {"codes": 2},
                "$pop": {"tags": 1},
                "$push": {"empty": "first", "beds": {"$each": [1], "$sort": 1}},
                "$rename": {"old": "new"},
            },
        )
        (event,) = next_events(stream, 1)
    assert event["updateDescription"]["updatedFields"] == {
        "codes": [1, 2],
        "tags": ["a"],
        "empty": ["first"],
        "beds": [1, 2, 3],
        "new": "x",
    }
    assert event["updateDescription"]["removedFields"] == ["old"]


def test_pushing_several_values_reports_each_new_index(store_db):
    store_db.patients.insert_one({"_id": "p1", "tags": ["a"]})
    with watch(store_db.patients) as stream:
        store_db.patients.update_one({"_id": "p1"}, {"$push": {"tags": {"$each": ["b", "c"]}}})
        (event,) = next_events(stream, 1)
    assert event["updateDescription"]["updatedFields"] == {"tags.1": "b", "tags.2": "c"}


def test_a_replace_event_carries_the_replacement(store_db):
    store_db.bills.insert_one({"_id": 1, "status": "pending", "amountCents": 500})
    with watch(store_db.bills) as stream:
        store_db.bills.replace_one({"_id": 1}, {"status": "void"})
        (event,) = next_events(stream, 1)
    assert event["operationType"] == "replace"
    assert_common_fields(event, store_db, "bills")
    assert event["documentKey"] == {"_id": 1}
    assert event["fullDocument"] == {"_id": 1, "status": "void"}
    assert "updateDescription" not in event


def test_a_delete_event_has_the_key_and_no_document(store_db):
    store_db.bills.insert_one({"_id": 1, "status": "pending"})
    with watch(store_db.bills, full_document="updateLookup") as stream:
        store_db.bills.delete_one({"_id": 1})
        (event,) = next_events(stream, 1)
    assert event["operationType"] == "delete"
    assert_common_fields(event, store_db, "bills")
    assert event["documentKey"] == {"_id": 1}
    assert "fullDocument" not in event


def test_a_soft_delete_is_an_update_event(store_db):
    store_db.patients.insert_one({"_id": "p1", "isActive": True})
    with watch(store_db.patients) as stream:
        store_db.patients.update_one({"_id": "p1"}, {"$set": {"isActive": False}})
        (event,) = next_events(stream, 1)
    assert event["operationType"] == "update"
    assert event["updateDescription"]["updatedFields"] == {"isActive": False}


def test_an_upsert_that_inserts_is_an_insert_event(store_db):
    with watch(store_db.staff) as stream:
        store_db.staff.update_one({"_id": "s1"}, {"$set": {"status": "on_duty"}}, upsert=True)
        (event,) = next_events(stream, 1)
    assert event["operationType"] == "insert"
    assert event["fullDocument"] == {"_id": "s1", "status": "on_duty"}


def test_an_update_that_changes_nothing_is_no_event(store_db):
    store_db.staff.insert_one({"_id": "s1", "status": "on_duty"})
    with watch(store_db.staff) as stream:
        store_db.staff.update_one({"_id": "s1"}, {"$set": {"status": "on_duty"}})
        store_db.staff.update_one({"_id": "s1"}, {"$set": {"status": "off_duty"}})
        events = drain(stream)
    assert summary(events) == [("update", "s1")]


def test_events_come_in_write_order_with_rising_cluster_times(store_db):
    with watch(store_db.patients) as stream:
        store_db.patients.insert_many([{"_id": i} for i in range(5)])
        store_db.patients.delete_many({"_id": {"$lt": 2}})
        events = next_events(stream, 7)
    assert summary(events) == [("insert", i) for i in range(5)] + [("delete", 0), ("delete", 1)]
    times = [event["clusterTime"] for event in events]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_the_seeds_is_active_filter_drops_deletes_and_soft_deletes(store_db):
    trap = [{"$match": {"fullDocument.isActive": True}}]
    with (
        watch(store_db.patients, trap, full_document="updateLookup") as filtered,
        watch(store_db.patients, full_document="updateLookup") as everything,
    ):
        for name in ("stays", "edited", "soft", "hard"):
            store_db.patients.insert_one({"_id": name, "isActive": True})
        store_db.patients.update_one({"_id": "edited"}, {"$set": {"status": "admitted"}})
        store_db.patients.update_one({"_id": "soft"}, {"$set": {"isActive": False}})
        store_db.patients.delete_one({"_id": "hard"})
        seen_all = next_events(everything, 7)
        seen_filtered = drain(filtered)
    assert summary(seen_all)[4:] == [("update", "edited"), ("update", "soft"), ("delete", "hard")]
    # The filtered stream misses both ways a patient leaves: counts built on it drift upwards.
    assert summary(seen_filtered) == [
        ("insert", "stays"),
        ("insert", "edited"),
        ("insert", "soft"),
        ("insert", "hard"),
        ("update", "edited"),
    ]


def test_a_match_on_operation_type(store_db):
    store_db.rooms.insert_many([{"_id": 1}, {"_id": 2}])
    with watch(
        store_db.rooms, [{"$match": {"operationType": {"$in": ["delete", "replace"]}}}]
    ) as stream:
        store_db.rooms.insert_one({"_id": 3})
        store_db.rooms.update_one({"_id": 1}, {"$set": {"status": "cleaning"}})
        store_db.rooms.replace_one({"_id": 2}, {"status": "available"})
        store_db.rooms.delete_one({"_id": 3})
        events = drain(stream)
    assert summary(events) == [("replace", 2), ("delete", 3)]


def test_a_database_stream_sees_every_collection(store_db):
    with watch(store_db) as stream:
        store_db.patients.insert_one({"_id": "p1"})
        store_db.rooms.insert_one({"_id": "r1"})
        store_db.patients.update_one({"_id": "p1"}, {"$set": {"status": "admitted"}})
        store_db.rooms.delete_one({"_id": "r1"})
        events = next_events(stream, 4)
    assert [(event["ns"]["coll"], event["operationType"]) for event in events] == [
        ("patients", "insert"),
        ("rooms", "insert"),
        ("patients", "update"),
        ("rooms", "delete"),
    ]
    assert all(event["ns"]["db"] == store_db.name for event in events)


def test_a_database_stream_can_match_on_the_collection(store_db):
    with watch(store_db, [{"$match": {"ns.coll": {"$in": ["rooms"]}}}]) as stream:
        store_db.patients.insert_one({"_id": "p1"})
        store_db.rooms.insert_one({"_id": "r1"})
        events = drain(stream)
    assert summary(events) == [("insert", "r1")]


def test_a_collection_stream_ignores_other_collections(store_db):
    with watch(store_db.rooms) as stream:
        store_db.patients.insert_one({"_id": "p1"})
        store_db.rooms.insert_one({"_id": "r1"})
        events = drain(stream)
    assert summary(events) == [("insert", "r1")]


def test_dropping_a_collection_ends_its_stream_with_drop_then_invalidate(store_db):
    store_db.rooms.insert_one({"_id": 1})
    with watch(store_db.rooms) as stream:
        store_db.rooms.drop()
        drop, invalidate = next_events(stream, 2)
        assert drop["operationType"] == "drop"
        assert drop["ns"] == {"db": store_db.name, "coll": "rooms"}
        assert invalidate["operationType"] == "invalidate"
        assert stream.alive is False
        assert stream.try_next() is None


def test_a_database_stream_reports_a_collection_drop_and_goes_on(store_db):
    store_db.rooms.insert_one({"_id": 1})
    with watch(store_db) as stream:
        store_db.rooms.drop()
        store_db.patients.insert_one({"_id": "p1"})
        events = next_events(stream, 2)
        assert [event["operationType"] for event in events] == ["drop", "insert"]
        assert stream.alive is True


def test_index_creation_is_no_change_event(store_db):
    with watch(store_db) as stream:
        store_db.rooms.create_index([("departmentId", ASCENDING)])
        store_db.rooms.insert_one({"_id": 1})
        events = drain(stream)
    assert summary(events) == [("insert", 1)]
