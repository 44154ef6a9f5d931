"""Sessions and cluster times: what a session learns of the positions of its operations, and
how cluster times count, as a replica set does."""

import itertools

import pytest
from bson.timestamp import Timestamp
from pymongo.errors import InvalidOperation

from .support import AWAIT_MS, next_events, result_of, start_other_process


def test_a_writes_operation_time_is_its_change_events_cluster_time_and_reads_are_not_earlier(
    store_db,
):
    client = store_db.client
    with (
        store_db.patients.watch(max_await_time_ms=AWAIT_MS) as stream,
        client.start_session() as session,
    ):
        assert session.operation_time is None
        positions = []
        store_db.patients.insert_one({"_id": "p1", "status": "admitted"}, session=session)
        positions.append(session.operation_time)
        store_db.patients.update_one({"_id": "p1"}, {"$set": {"status": "x"}}, session=session)
        positions.append(session.operation_time)
        store_db.patients.insert_many([{"_id": "p2"}, {"_id": "p3"}], session=session)
        positions.append(session.operation_time)  # the last document's
        store_db.patients.delete_one({"_id": "p1"}, session=session)
        positions.append(session.operation_time)
        events = next_events(stream, 5)
    times = [event["clusterTime"] for event in events]
    assert positions == [times[0], times[1], times[3], times[4]]
    assert all(isinstance(position, Timestamp) for position in positions)

    # Reads and commands run at the newest position, which is never before what they see.
    with client.start_session() as reader:
        assert store_db.patients.count_documents({}, session=reader) == 2
        assert reader.operation_time >= positions[-1]
        assert list(store_db.patients.find({}, session=reader).sort("_id", 1))[0]["_id"] == "p2"
        list(store_db.patients.aggregate([{"$match": {}}], session=reader))
        reply = store_db.command("ping", session=reader)
        assert reply["operationTime"] >= positions[-1]
        assert reader.operation_time >= reply["operationTime"] >= positions[-1]

    with pytest.raises(InvalidOperation):
        store_db.patients.find_one({}, session=session)  # ended with its block


def test_cluster_times_count_within_each_second_and_every_process_agrees(store_db):
    """Two processes write at once: every write gets its own cluster time, in commit order,
    the increment counting within the second; each writer learns the time its change carries."""
    mine: list[Timestamp] = []
    with store_db.patients.watch(max_await_time_ms=AWAIT_MS) as stream:
        child = start_other_process(store_db, "positions", "patients", "30", "child")
        with store_db.client.start_session() as session:
            # Until the other process is done and the writes span two seconds.
            while child.poll() is None or len({position.time for position in mine}) < 2:
                store_db.patients.insert_one({"writer": "parent"}, session=session)
                mine.append(session.operation_time)
        theirs = [Timestamp(*position) for position in result_of(child)["ok"]]
        events = next_events(stream, len(mine) + len(theirs))
    times = [event["clusterTime"] for event in events]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert set(times) == set(mine) | set(theirs)
    for _, group in itertools.groupby(times, key=lambda time: time.time):
        increments = [time.inc for time in group]
        assert increments == sorted(increments) and increments[0] >= 1
