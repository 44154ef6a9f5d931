"""Indexes: creating them is idempotent, conflicts are refused, unique ones hold, and they are listed."""

import pytest
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError, OperationFailure


def test_create_index_returns_mongodbs_default_name_and_is_idempotent(store_db):
    assert store_db.patients.create_index("mrn") == "mrn_1"
    assert store_db.patients.create_index([("isActive", ASCENDING), ("startedAt", DESCENDING)]) == (
        "isActive_1_startedAt_-1"
    )
    assert store_db.patients.create_index("mrn") == "mrn_1"
    assert sorted(store_db.patients.index_information()) == [
        "_id_",
        "isActive_1_startedAt_-1",
        "mrn_1",
    ]


def test_create_indexes_with_models_twice_changes_nothing(store_db):
    models = [
        IndexModel([("isActive", ASCENDING), ("status", ASCENDING)], name="active_status"),
        IndexModel([("registeredAt", ASCENDING)], name="registered_at"),
    ]
    assert store_db.patients.create_indexes(models) == ["active_status", "registered_at"]
    assert store_db.patients.create_indexes(models) == ["active_status", "registered_at"]
    info = store_db.patients.index_information()
    assert info["active_status"]["key"] == [("isActive", 1), ("status", 1)]
    assert info["registered_at"]["key"] == [("registeredAt", 1)]
    assert info["_id_"]["key"] == [("_id", 1)]
    assert len(info) == 3


def test_index_information_shows_unique(store_db):
    store_db.staff.create_index("badge", unique=True)
    assert store_db.staff.index_information()["badge_1"]["unique"] is True


def test_an_existing_name_with_other_keys_is_refused(store_db):
    store_db.rooms.create_index("number", name="by_number")
    with pytest.raises(OperationFailure) as caught:
        store_db.rooms.create_index("departmentId", name="by_number")
    assert caught.value.code == 86  # IndexKeySpecsConflict


def test_the_same_keys_under_another_name_are_refused(store_db):
    store_db.rooms.create_index("number", name="by_number")
    with pytest.raises(OperationFailure) as caught:
        store_db.rooms.create_index("number", name="number_again")
    assert caught.value.code == 85  # IndexOptionsConflict


def test_a_unique_index_refuses_a_duplicate_on_insert_and_update(store_db):
    store_db.staff.create_index("badge", unique=True)
    store_db.staff.insert_many([{"_id": 1, "badge": "A"}, {"_id": 2, "badge": "B"}])
    with pytest.raises(DuplicateKeyError):
        store_db.staff.insert_one({"_id": 3, "badge": "A"})
    with pytest.raises(DuplicateKeyError):
        store_db.staff.update_one({"_id": 2}, {"$set": {"badge": "A"}})
    assert store_db.staff.update_one({"_id": 2}, {"$set": {"badge": "C"}}).modified_count == 1
    store_db.staff.insert_one({"_id": 4, "badge": "B"})  # B was freed by the update
    assert sorted((doc["_id"], doc["badge"]) for doc in store_db.staff.find()) == [
        (1, "A"),
        (2, "C"),
        (4, "B"),
    ]


def test_a_unique_index_counts_a_missing_field_as_null_unless_sparse(store_db):
    store_db.staff.create_index("badge", unique=True)
    store_db.staff.insert_one({"_id": 1})
    with pytest.raises(DuplicateKeyError):
        store_db.staff.insert_one({"_id": 2})
    store_db.rooms.create_index("tag", unique=True, sparse=True)
    store_db.rooms.insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3, "tag": "t"}])
    with pytest.raises(DuplicateKeyError):
        store_db.rooms.insert_one({"_id": 4, "tag": "t"})
    assert store_db.rooms.count_documents({}) == 3


def test_a_partial_unique_index_only_covers_matching_documents(store_db):
    store_db.staff.create_index(
        "badge", unique=True, partialFilterExpression={"isActive": True}, name="active_badge"
    )
    store_db.staff.insert_many(
        [{"badge": "A", "isActive": False}, {"badge": "A", "isActive": True}]
    )
    with pytest.raises(DuplicateKeyError):
        store_db.staff.insert_one({"badge": "A", "isActive": True})
    assert store_db.staff.count_documents({"badge": "A"}) == 2


def test_a_unique_index_cannot_be_built_over_duplicates(store_db):
    store_db.staff.insert_many([{"_id": 1, "badge": "A"}, {"_id": 2, "badge": "A"}])
    with pytest.raises(OperationFailure) as caught:
        store_db.staff.create_index("badge", unique=True)
    assert caught.value.code == 11000
    assert "badge_1" not in store_db.staff.index_information()


def test_a_collection_exists_once_written_to_and_not_after_a_drop(store_db):
    assert store_db.list_collection_names() == []
    assert store_db.beds.index_information() == {}
    store_db.beds.insert_one({"_id": 1})
    store_db.wards.create_index("name")
    assert sorted(store_db.list_collection_names()) == ["beds", "wards"]
    store_db.beds.drop()
    assert store_db.list_collection_names() == ["wards"]
    assert store_db.beds.count_documents({}) == 0
