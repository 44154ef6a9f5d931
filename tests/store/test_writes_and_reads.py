"""Writes and reads as pymongo and MongoDB define them: results, errors, and what ends up stored."""

import datetime as dt

import pytest
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError


def test_insert_one_adds_an_object_id_to_the_callers_document(store_db):
    patient = {"mrn": "M1", "isActive": True}
    result = store_db.patients.insert_one(patient)
    assert isinstance(patient["_id"], ObjectId)
    assert result.inserted_id == patient["_id"]
    assert store_db.patients.find_one({"_id": patient["_id"]}) == patient


def test_insert_many_adds_ids_in_order(store_db):
    documents = [{"i": 0}, {"i": 1}, {"_id": "mine", "i": 2}]
    result = store_db.items.insert_many(documents)
    assert [document["_id"] for document in documents] == result.inserted_ids
    assert result.inserted_ids[2] == "mine"
    assert store_db.items.count_documents({}) == 3


def test_a_duplicate_id_is_a_duplicate_key_error(store_db):
    store_db.items.insert_one({"_id": "ER", "name": "Emergency"})
    with pytest.raises(DuplicateKeyError) as caught:
        store_db.items.insert_one({"_id": "ER", "name": "Other"})
    assert caught.value.code == 11000
    assert store_db.items.find_one({"_id": "ER"})["name"] == "Emergency"


def test_an_ordered_insert_many_keeps_the_documents_before_a_duplicate(store_db):
    store_db.items.insert_one({"_id": 3})
    with pytest.raises(BulkWriteError) as caught:
        store_db.items.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3}, {"_id": 4}])
    details = caught.value.details
    assert details["nInserted"] == 2
    assert [(error["index"], error["code"]) for error in details["writeErrors"]] == [(2, 11000)]
    assert sorted(doc["_id"] for doc in store_db.items.find()) == [1, 2, 3]


def test_an_unordered_insert_many_inserts_everything_but_the_duplicates(store_db):
    store_db.items.insert_one({"_id": 3})
    with pytest.raises(BulkWriteError) as caught:
        store_db.items.insert_many([{"_id": 1}, {"_id": 3}, {"_id": 4}, {"_id": 1}], ordered=False)
    details = caught.value.details
    assert details["nInserted"] == 2
    assert sorted(error["index"] for error in details["writeErrors"]) == [1, 3]
    assert sorted(doc["_id"] for doc in store_db.items.find()) == [1, 3, 4]


def test_update_one_applies_set_unset_inc_and_push(store_db):
    store_db.patients.insert_one(
        {"_id": 1, "status": "admitted", "phone": "555", "visits": 1, "tags": ["a"]}
    )
    result = store_db.patients.update_one(
        {"_id": 1},
        {
            "$set": {"status": "discharged"},
            "$unset": {"phone": ""},
            "$inc": {"visits": 2},
            "$push": {"tags": "b"},
        },
    )
    assert (result.matched_count, result.modified_count, result.upserted_id) == (1, 1, None)
    assert store_db.patients.find_one({"_id": 1}) == {
        "_id": 1,
        "status": "discharged",
        "visits": 3,
        "tags": ["a", "b"],
    }


def test_update_one_changes_only_the_first_match(store_db):
    store_db.rooms.insert_many([{"_id": i, "status": "available"} for i in range(3)])
    result = store_db.rooms.update_one({"status": "available"}, {"$set": {"status": "occupied"}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert store_db.rooms.count_documents({"status": "occupied"}) == 1


def test_update_many_reports_matched_and_modified(store_db):
    store_db.rooms.insert_many(
        [
            {"_id": 1, "floor": 1, "status": "cleaning"},
            {"_id": 2, "floor": 1, "status": "available"},
            {"_id": 3, "floor": 2, "status": "cleaning"},
        ]
    )
    result = store_db.rooms.update_many({"floor": 1}, {"$set": {"status": "available"}})
    assert (result.matched_count, result.modified_count) == (2, 1)
    assert store_db.rooms.count_documents({"status": "available"}) == 2


def test_an_update_that_changes_nothing_modifies_nothing(store_db):
    store_db.rooms.insert_one({"_id": 1, "status": "available"})
    result = store_db.rooms.update_one({"_id": 1}, {"$set": {"status": "available"}})
    assert (result.matched_count, result.modified_count) == (1, 0)


def test_upsert_inserts_with_set_on_insert_then_only_updates(store_db):
    first = store_db.staff.update_one(
        {"_id": "s1"},
        {"$set": {"status": "on_duty"}, "$setOnInsert": {"role": "nurse"}},
        upsert=True,
    )
    assert first.upserted_id == "s1"
    assert first.matched_count == 0
    second = store_db.staff.update_one(
        {"_id": "s1"},
        {"$set": {"status": "on_break"}, "$setOnInsert": {"role": "doctor"}},
        upsert=True,
    )
    assert second.upserted_id is None
    assert (second.matched_count, second.modified_count) == (1, 1)
    assert store_db.staff.find_one({"_id": "s1"}) == {
        "_id": "s1",
        "status": "on_break",
        "role": "nurse",
    }


def test_upsert_takes_equality_fields_from_the_filter(store_db):
    result = store_db.rooms.update_one(
        {"number": "101", "departmentId": "ER"}, {"$set": {"status": "available"}}, upsert=True
    )
    created = store_db.rooms.find_one({"_id": result.upserted_id}, {"_id": 0})
    assert created == {"number": "101", "departmentId": "ER", "status": "available"}


def test_replace_one_keeps_the_id_and_replaces_everything_else(store_db):
    store_db.bills.insert_one({"_id": 7, "status": "pending", "amountCents": 100})
    result = store_db.bills.replace_one({"_id": 7}, {"status": "paid"})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert store_db.bills.find_one({"_id": 7}) == {"_id": 7, "status": "paid"}


def test_replace_one_with_upsert_inserts_when_nothing_matches(store_db):
    result = store_db.bills.replace_one({"_id": 8}, {"status": "pending"}, upsert=True)
    assert result.upserted_id == 8
    assert store_db.bills.find_one({"_id": 8}) == {"_id": 8, "status": "pending"}


def test_delete_one_and_delete_many_report_counts(store_db):
    store_db.appointments.insert_many([{"_id": i, "status": "cancelled"} for i in range(4)])
    assert store_db.appointments.delete_one({"status": "cancelled"}).deleted_count == 1
    assert store_db.appointments.delete_many({"status": "cancelled"}).deleted_count == 3
    assert store_db.appointments.delete_many({"status": "cancelled"}).deleted_count == 0
    assert store_db.appointments.count_documents({}) == 0


@pytest.mark.parametrize(
    "update, code",
    [
        ({"$inc": {"name": 1}}, 14),  # TypeMismatch: $inc on a string
        ({"$inc": {"tags": 1}}, 14),  # ... and on an array
        ({"$inc": {"visits": "one"}}, 14),  # a non-numeric increment
        ({"$set": {"a": 1}, "$unset": {"a": ""}}, 40),  # ConflictingUpdateOperators
        ({"$set": {"a.b": 1, "a": 2}}, 40),
        ({"$set": {"_id": 99}}, 66),  # ImmutableField
        ({"$frobnicate": {"a": 1}}, 9),  # FailedToParse: unknown modifier
    ],
)
def test_an_invalid_update_is_a_write_error_and_changes_nothing(store_db, update, code):
    original = {"_id": 1, "name": "x", "tags": ["a"], "visits": 1}
    store_db.patients.insert_one(dict(original))
    with pytest.raises(WriteError) as caught:
        store_db.patients.update_one({"_id": 1}, update)
    assert caught.value.code == code
    assert store_db.patients.find_one({"_id": 1}) == original


def test_find_filters_projects_sorts_skips_and_limits(store_db):
    store_db.patients.insert_many(
        [
            {
                "_id": i,
                "triageLevel": i % 5 + 1,
                "departmentId": "ER" if i % 2 else "CARD",
                "mrn": f"M{i}",
            }
            for i in range(10)
        ]
    )
    found = list(
        store_db.patients.find({"departmentId": "ER"}, {"mrn": 0})
        .sort([("triageLevel", DESCENDING), ("_id", ASCENDING)])
        .skip(1)
        .limit(3)
    )
    assert found == [
        {"_id": 3, "triageLevel": 4, "departmentId": "ER"},
        {"_id": 7, "triageLevel": 3, "departmentId": "ER"},
        {"_id": 1, "triageLevel": 2, "departmentId": "ER"},
    ]
    assert list(
        store_db.patients.find({"triageLevel": {"$gte": 4}}, {"_id": 1}, sort=[("_id", 1)])
    ) == [{"_id": 3}, {"_id": 4}, {"_id": 8}, {"_id": 9}]


def test_sorting_puts_missing_fields_first_ascending(store_db):
    store_db.items.insert_many([{"_id": 1, "rank": 2}, {"_id": 2}, {"_id": 3, "rank": 1}])
    assert [doc["_id"] for doc in store_db.items.find().sort("rank", ASCENDING)] == [2, 3, 1]
    assert [doc["_id"] for doc in store_db.items.find().sort("rank", DESCENDING)] == [1, 3, 2]


def test_find_one_returns_the_first_match_or_none(store_db):
    store_db.staff.insert_many([{"_id": 1, "role": "nurse"}, {"_id": 2, "role": "nurse"}])
    assert store_db.staff.find_one({"role": "nurse"}, sort=[("_id", DESCENDING)])["_id"] == 2
    assert store_db.staff.find_one({"role": "admin"}) is None
    assert store_db.staff.find_one(1) == {"_id": 1, "role": "nurse"}


def test_count_documents_with_filter_skip_and_limit(store_db):
    store_db.bills.insert_many([{"status": "paid" if i % 3 else "pending"} for i in range(9)])
    assert store_db.bills.count_documents({}) == 9
    assert store_db.bills.count_documents({"status": "pending"}) == 3
    assert store_db.bills.count_documents({"status": "paid"}, skip=2, limit=3) == 3


def test_results_are_copies_that_callers_may_change(store_db):
    store_db.items.insert_one({"_id": 1, "tags": ["a"]})
    found = store_db.items.find_one({"_id": 1})
    found["tags"].append("changed")
    aggregated = next(store_db.items.aggregate([{"$match": {"_id": 1}}]))
    aggregated["tags"].append("changed")
    assert store_db.items.find_one({"_id": 1}) == {"_id": 1, "tags": ["a"]}


def test_aware_datetimes_are_stored_as_naive_utc(store_db):
    plus_two = dt.timezone(dt.timedelta(hours=2))
    store_db.patients.insert_one(
        {"_id": 1, "registeredAt": dt.datetime(2026, 3, 1, 10, 0, tzinfo=plus_two)}
    )
    stored = store_db.patients.find_one({"_id": 1})["registeredAt"]
    assert stored == dt.datetime(2026, 3, 1, 8, 0)
    assert stored.tzinfo is None


def test_datetimes_keep_millisecond_precision(store_db):
    store_db.patients.insert_one(
        {"_id": 1, "registeredAt": dt.datetime(2026, 3, 1, 8, 0, 0, 123456)}
    )
    assert store_db.patients.find_one({"_id": 1})["registeredAt"] == dt.datetime(
        2026, 3, 1, 8, 0, 0, 123000
    )


def test_aware_datetimes_in_a_filter_match_the_same_instant(store_db):
    store_db.patients.insert_many(
        [{"_id": hour, "registeredAt": dt.datetime(2026, 3, 1, hour)} for hour in range(6)]
    )
    plus_two = dt.timezone(dt.timedelta(hours=2))
    window = {
        "$gte": dt.datetime(2026, 3, 1, 4, tzinfo=plus_two),
        "$lt": dt.datetime(2026, 3, 1, 6, tzinfo=plus_two),
    }
    assert [doc["_id"] for doc in store_db.patients.find({"registeredAt": window}).sort("_id")] == [
        2,
        3,
    ]
