"""The embedded store's updateLookup is never older than the change it comes with.

MongoDB looks the document up when the event is read, so the document is at
least as new as the change. The embedded store reads the oplog and then the
document from its in-memory mirror: the mirror must have caught up with every
entry it hands out, including one another process commits in between.
"""

from __future__ import annotations

from embedded_mongo import EmbeddedClient


def test_a_change_committed_by_another_process_while_the_stream_reads(hospital_store, monkeypatch):
    reader = EmbeddedClient(hospital_store)["hospital"]
    # Another history size: an engine of its own, with its own mirror, as another process has.
    writer = EmbeddedClient(hospital_store, history=99_999)["hospital"]
    reader.rooms.insert_one({"_id": "r1", "status": "occupied"})
    stream = reader.rooms.watch(full_document="updateLookup", max_await_time_ms=0)
    storage = reader.client._engine._storage
    read_entries = storage.entries_after
    written: list[bool] = []

    def another_process_writes_first(seq, limit=None):
        if limit is not None and not written:  # the stream's read of the oplog
            writer.rooms.update_one({"_id": "r1"}, {"$set": {"status": "cleaning"}})
            written.append(True)
        return read_entries(seq, limit)

    monkeypatch.setattr(storage, "entries_after", another_process_writes_first)
    event = stream.try_next()
    assert written and event["operationType"] == "update"
    assert event["fullDocument"] == {"_id": "r1", "status": "cleaning"}
    stream.close()
