"""Resuming change streams: every change is seen once, across restarts of the watcher and across processes."""

import pytest
from pymongo.errors import OperationFailure

from .support import AWAIT_MS, drain, in_other_process, next_events, summary


def watch(target, **options):
    return target.watch(max_await_time_ms=AWAIT_MS, **options)


def test_resume_after_an_events_token_continues_right_after_it(store_db):
    with watch(store_db.rooms) as stream:
        store_db.rooms.insert_many([{"_id": i} for i in range(4)])
        events = next_events(stream, 4)
    with watch(store_db.rooms, resume_after=events[1]["_id"]) as resumed:
        assert summary(next_events(resumed, 2)) == [("insert", 2), ("insert", 3)]
        assert drain(resumed) == []


def test_the_post_batch_token_after_an_empty_poll_loses_and_repeats_nothing(store_db):
    stream = watch(store_db.rooms)
    store_db.rooms.insert_many([{"_id": 1}, {"_id": 2}])
    next_events(stream, 2)
    assert stream.try_next() is None
    token = stream.resume_token
    stream.close()
    store_db.rooms.insert_one({"_id": 3})
    store_db.rooms.delete_one({"_id": 1})
    with watch(store_db.rooms, resume_after=token) as resumed:
        assert summary(drain(resumed)) == [("insert", 3), ("delete", 1)]


def test_a_restarted_watcher_sees_every_change_once(store_db):
    seen, token = [], None
    for base in (0, 10, 20):
        with watch(store_db.patients, resume_after=token, full_document="updateLookup") as stream:
            store_db.patients.insert_one({"_id": base, "isActive": True})
            store_db.patients.update_one({"_id": base}, {"$set": {"isActive": False}})
            store_db.patients.replace_one({"_id": base}, {"isActive": True})
            # From the second round on, the two changes made while it was down come first.
            seen.extend(next_events(stream, 3 if token is None else 5))
            token = stream.resume_token
        store_db.patients.insert_one({"_id": base + 1})
        store_db.patients.delete_one({"_id": base + 1})
    with watch(store_db.patients, resume_after=token) as stream:
        seen.extend(drain(stream))
    assert summary(seen) == [
        change
        for base in (0, 10, 20)
        for change in [
            ("insert", base),
            ("update", base),
            ("replace", base),
            ("insert", base + 1),
            ("delete", base + 1),
        ]
    ]


def test_a_write_from_another_process_reaches_this_processs_stream(store_db):
    with watch(store_db.patients) as stream:
        assert in_other_process(store_db, "insert", "patients", "3", "child") == {"ok": 3}
        events = next_events(stream, 3)
    assert [event["fullDocument"]["writer"] for event in events] == ["child"] * 3
    assert [event["fullDocument"]["i"] for event in events] == [0, 1, 2]


def test_a_watcher_restarted_while_another_process_wrote_misses_nothing(store_db):
    with watch(store_db.patients) as stream:
        store_db.patients.insert_one({"_id": "before"})
        next_events(stream, 1)
        assert stream.try_next() is None
        token = stream.resume_token
    in_other_process(store_db, "insert", "patients", "4", "while-down")
    with watch(store_db.patients, resume_after=token) as stream:
        events = drain(stream)
    assert [(event["operationType"], event["fullDocument"]["i"]) for event in events] == [
        ("insert", i) for i in range(4)
    ]


def test_start_after_an_invalidate_watches_the_recreated_collection(store_db):
    store_db.rooms.insert_one({"_id": 1})
    with watch(store_db.rooms) as stream:
        store_db.rooms.drop()
        _, invalidate = next_events(stream, 2)
    store_db.rooms.insert_one({"_id": 2})
    with watch(store_db.rooms, start_after=invalidate["_id"]) as stream:
        assert summary(next_events(stream, 1)) == [("insert", 2)]


def test_resume_after_an_invalidate_is_refused(store_db):
    store_db.rooms.insert_one({"_id": 1})
    with watch(store_db.rooms) as stream:
        store_db.rooms.drop()
        _, invalidate = next_events(stream, 2)
    with pytest.raises(OperationFailure):
        watch(store_db.rooms, resume_after=invalidate["_id"]).try_next()


def test_start_after_an_ordinary_event_is_like_resume_after(store_db):
    with watch(store_db.rooms) as stream:
        store_db.rooms.insert_many([{"_id": 1}, {"_id": 2}])
        first, _ = next_events(stream, 2)
    with watch(store_db.rooms, start_after=first["_id"]) as stream:
        assert summary(next_events(stream, 1)) == [("insert", 2)]


def test_a_malformed_token_is_refused(store_db):
    with pytest.raises(OperationFailure):
        watch(store_db.rooms, resume_after={"_data": "not a token"}).try_next()
