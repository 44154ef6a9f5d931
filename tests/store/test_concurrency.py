"""Concurrent writers: threads of one process and separate processes lose no write and see a consistent store."""

import threading

from .support import AWAIT_MS, next_events, result_of, start_other_process

THREADS, WRITES = 4, 40


def test_threads_writing_while_one_reads_stay_consistent(store_db):
    store_db.counters.insert_one({"_id": "admissions", "n": 0})
    failures: list[str] = []
    done = threading.Event()

    def write(tag: int) -> None:
        for index in range(WRITES):
            store_db.patients.insert_one({"writer": tag, "i": index})
            store_db.counters.update_one({"_id": "admissions"}, {"$inc": {"n": 1}})

    def read() -> None:
        last = 0
        while not done.is_set():
            count = store_db.patients.count_documents({})
            if count < last or count > THREADS * WRITES:
                failures.append(f"count went from {last} to {count}")
            last = count

    with store_db.patients.watch(max_await_time_ms=AWAIT_MS) as stream:
        reader = threading.Thread(target=read)
        writers = [threading.Thread(target=write, args=(tag,)) for tag in range(THREADS)]
        reader.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        reader.join()
        events = next_events(stream, THREADS * WRITES)

    assert failures == []
    assert store_db.patients.count_documents({}) == THREADS * WRITES
    assert store_db.counters.find_one({"_id": "admissions"})["n"] == THREADS * WRITES
    ids = [event["documentKey"]["_id"] for event in events]
    assert len(set(ids)) == THREADS * WRITES
    for tag in range(THREADS):
        # Each writer's inserts arrive in the order it made them.
        mine = [
            event["fullDocument"]["i"] for event in events if event["fullDocument"]["writer"] == tag
        ]
        assert mine == list(range(WRITES))


def test_two_processes_writing_to_the_same_store_lose_no_write(store_db):
    with store_db.patients.watch(max_await_time_ms=AWAIT_MS) as stream:
        processes = [
            start_other_process(store_db, "insert", "patients", "60", "first"),
            start_other_process(store_db, "insert", "patients", "60", "second"),
            start_other_process(store_db, "inc", "counters", "shared", "60"),
            start_other_process(store_db, "inc", "counters", "shared", "60"),
        ]
        assert [result_of(process) for process in processes] == [{"ok": 60}] * 4
        events = next_events(stream, 120)
    assert store_db.patients.count_documents({"writer": "first"}) == 60
    assert store_db.patients.count_documents({"writer": "second"}) == 60
    assert store_db.counters.find_one({"_id": "shared"})["n"] == 120
    assert len({event["documentKey"]["_id"] for event in events}) == 120
