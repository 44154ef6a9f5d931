"""Behaviours only the embedded store can be made to show, so these run on it alone.

A real replica set has the same behaviours (a lost history is code 286, an
unreachable server raises ServerSelectionTimeoutError), but a test cannot
shrink its oplog or unplug it on demand: the embedded store's history size and
fault switch do that here.
"""

import itertools
import sqlite3

import pytest
from pymongo.errors import AutoReconnect, OperationFailure, ServerSelectionTimeoutError

from embedded_mongo import EmbeddedClient

from .support import AWAIT_MS, in_other_process, next_events, summary

HISTORY = 10


@pytest.fixture
def short_history_db(hospital_store):
    return EmbeddedClient(hospital_store, history=HISTORY)["contract"]


def test_a_token_older_than_the_history_is_code_286(short_history_db):
    with short_history_db.rooms.watch(max_await_time_ms=AWAIT_MS) as stream:
        short_history_db.rooms.insert_one({"_id": "first"})
        (event,) = next_events(stream, 1)
    short_history_db.rooms.insert_many([{"_id": i} for i in range(HISTORY * 3)])
    with pytest.raises(OperationFailure) as caught:
        short_history_db.rooms.watch(resume_after=event["_id"])
    assert caught.value.code == 286


def test_a_token_within_the_history_still_resumes(short_history_db):
    with short_history_db.rooms.watch(max_await_time_ms=AWAIT_MS) as stream:
        short_history_db.rooms.insert_many([{"_id": i} for i in range(3)])
        events = next_events(stream, 3)
    with short_history_db.rooms.watch(
        resume_after=events[0]["_id"], max_await_time_ms=AWAIT_MS
    ) as stream:
        assert summary(next_events(stream, 2)) == [("insert", 1), ("insert", 2)]


def test_a_stream_that_falls_behind_the_history_fails_with_286_and_closes(short_history_db):
    stream = short_history_db.rooms.watch(max_await_time_ms=AWAIT_MS)
    short_history_db.rooms.insert_many([{"_id": i} for i in range(HISTORY * 3)])
    with pytest.raises(OperationFailure) as caught:
        stream.try_next()
    assert caught.value.code == 286
    assert stream.alive is False


def test_a_client_idle_while_another_trimmed_the_history_still_reads_and_writes(hospital_store):
    idle = EmbeddedClient(hospital_store)["contract"]  # another engine on the same file
    idle.rooms.insert_one({"_id": "old"})
    busy = EmbeddedClient(hospital_store, history=HISTORY)["contract"]
    busy.rooms.insert_many([{"_id": i} for i in range(HISTORY * 3)])
    idle.rooms.insert_one({"_id": "new"})
    assert idle.rooms.count_documents({}) == HISTORY * 3 + 2
    assert busy.rooms.count_documents({}) == HISTORY * 3 + 2


def test_the_unreachable_switch_fails_reads_writes_and_streams_then_recovers(embedded_db):
    client = embedded_db.client
    embedded_db.rooms.insert_one({"_id": 1, "status": "available"})
    stream = embedded_db.rooms.watch(max_await_time_ms=AWAIT_MS)
    embedded_db.rooms.insert_one({"_id": 2, "status": "available"})
    client.set_unreachable(True)
    try:
        failing = [
            lambda: list(embedded_db.rooms.find()),
            lambda: embedded_db.rooms.find_one({"_id": 1}),
            lambda: embedded_db.rooms.count_documents({}),
            lambda: list(embedded_db.rooms.aggregate([{"$count": "n"}])),
            lambda: embedded_db.rooms.insert_one({"_id": 3}),
            lambda: embedded_db.rooms.update_one({"_id": 1}, {"$set": {"status": "occupied"}}),
            lambda: embedded_db.rooms.delete_one({"_id": 1}),
            lambda: embedded_db.rooms.watch(),
            stream.try_next,
            lambda: embedded_db.command("ping"),
        ]
        for operation in failing:
            with pytest.raises(ServerSelectionTimeoutError) as caught:
                operation()
            assert isinstance(caught.value, AutoReconnect)
        assert stream.alive is True
    finally:
        client.set_unreachable(False)
    assert embedded_db.rooms.count_documents({}) == 2
    embedded_db.rooms.insert_one({"_id": 3})
    # The open stream resumes where it stopped: the write before the outage, then the one after.
    assert summary(next_events(stream, 2)) == [("insert", 2), ("insert", 3)]
    stream.close()


def test_the_unreachable_switch_reaches_other_processes(embedded_db):
    embedded_db.rooms.insert_one({"_id": 1})
    embedded_db.client.set_unreachable(True)
    try:
        assert in_other_process(embedded_db, "count", "rooms") == {
            "error": "ServerSelectionTimeoutError"
        }
    finally:
        embedded_db.client.set_unreachable(False)
    assert in_other_process(embedded_db, "count", "rooms") == {"ok": 1}


@pytest.mark.parametrize(
    "stage",
    [
        {"$setWindowFields": {"sortBy": {"at": 1}, "output": {"n": {"$sum": 1}}}},
        {"$project": {"day": {"$dateTrunc": {"date": "$at", "unit": "day"}}}},
        {"$sortByCount": "$status"},
    ],
)
def test_a_stage_the_store_lacks_is_an_operation_failure(embedded_db, stage):
    embedded_db.rooms.insert_one({"_id": 1, "status": "available"})
    with pytest.raises(OperationFailure) as caught:
        list(embedded_db.rooms.aggregate([stage]))
    assert caught.value.code == 115


def test_an_unknown_watch_option_is_refused(embedded_db):
    with pytest.raises(OperationFailure):
        embedded_db.rooms.watch(full_document_before_change="required")


def test_increments_number_each_seconds_writes_also_in_a_file_from_before_they_were_kept(
    hospital_store, embedded_db
):
    """The store's only writer sees 1, 2, 3... in each second (a replica set counts its other
    writes too); a store file written before increments were kept is numbered so on opening."""
    times = []
    with embedded_db.client.start_session() as session:
        while len({time.time for time in times}) < 2:
            embedded_db.rooms.insert_one({}, session=session)
            times.append(session.operation_time)
    for _, group in itertools.groupby(times, key=lambda time: time.time):
        increments = [time.inc for time in group]
        assert increments == list(range(1, len(increments) + 1))

    older = sqlite3.connect(hospital_store)
    older.execute("ALTER TABLE oplog DROP COLUMN inc")
    older.close()
    # Another history size: a new engine, which opens the file afresh.
    reopened = EmbeddedClient(hospital_store, history=HISTORY * 1000)
    with reopened.start_session() as session:
        reopened["contract"].command("ping", session=session)
        assert session.operation_time == times[-1]
    numbered = sqlite3.connect(hospital_store)
    rows = numbered.execute("SELECT wall_ms / 1000, inc FROM oplog ORDER BY seq").fetchall()
    numbered.close()
    assert rows == [(time.time, time.inc) for time in times]
