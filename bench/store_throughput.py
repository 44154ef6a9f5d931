"""Write throughput of the embedded store, printed as JSON of medians.

    .venv/bin/python bench/store_throughput.py [--rounds 5] [--writes 1000] [--documents 2000]

Each round uses a fresh store file. Measured: single insert_one calls; update_one
by _id while a change stream with full_document="updateLookup" consumes every
event in another thread (updates/s, and the delay from each write returning to
its event being read); and one aggregation over the collection, since queries
scan every document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedded_mongo import EmbeddedClient  # noqa: E402


def inserts_per_second(db, writes: int) -> float:
    started = time.perf_counter()
    for index in range(writes):
        db.patients.insert_one({"i": index, "departmentId": "ER", "isActive": True})
    return writes / (time.perf_counter() - started)


def updates_with_consumer(db, writes: int, documents: int) -> dict:
    db.rooms.insert_many([{"_id": index, "occupiedBeds": 0} for index in range(documents)])
    written_at: dict[int, float] = {}
    delays: list[float] = []
    stream = db.rooms.watch(full_document="updateLookup", max_await_time_ms=50)

    def consume() -> None:
        while len(delays) < writes:
            event = stream.try_next()
            if event is not None:
                seq = event["fullDocument"]["seq"]
                delays.append(time.perf_counter() - written_at[seq])

    consumer = threading.Thread(target=consume)
    consumer.start()
    started = time.perf_counter()
    for seq in range(writes):
        db.rooms.update_one(
            {"_id": seq % documents}, {"$inc": {"occupiedBeds": 1}, "$set": {"seq": seq}}
        )
        written_at[seq] = time.perf_counter()
    elapsed = time.perf_counter() - started
    consumer.join()
    drained = time.perf_counter() - started
    stream.close()
    return {
        "updates_per_s": writes / elapsed,
        "events_consumed_per_s": writes / drained,
        "event_delay_ms_p50": statistics.median(delays) * 1000,
        "event_delay_ms_p99": sorted(delays)[int(len(delays) * 0.99) - 1] * 1000,
    }


def aggregate_ms(db) -> float:
    pipeline = [
        {"$match": {"isActive": True}},
        {"$group": {"_id": "$departmentId", "n": {"$sum": 1}}},
    ]
    started = time.perf_counter()
    list(db.patients.aggregate(pipeline))
    return (time.perf_counter() - started) * 1000


def one_round(writes: int, documents: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        db = EmbeddedClient(str(Path(directory) / "store.sqlite3"))["bench"]
        result = {"inserts_per_s": inserts_per_second(db, writes)}
        result.update(updates_with_consumer(db, writes, documents))
        result[f"aggregate_ms_over_{writes}_docs"] = aggregate_ms(db)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=2000, help="rooms the updates cycle over")
    args = parser.parse_args()
    rounds = [one_round(args.writes, args.documents) for _ in range(args.rounds)]
    medians = {key: round(statistics.median(r[key] for r in rounds), 2) for key in rounds[0]}
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "writes_per_round": args.writes,
                "documents": args.documents,
                "medians": medians,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
