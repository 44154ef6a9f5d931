"""A second process for the store contract suite: opens the same store and writes or reads.

    python -m tests.store.writer embedded|mongodb PATH_OR_URI DB ACTION ARGS...

Actions: `insert COLL N TAG` (N active documents tagged TAG), `positions COLL N
TAG` (the same, one by one in a session, returning each insert's cluster time
as [seconds, increment]), `inc COLL ID N` (N upserting $inc of `n` on one
document), `count COLL`. Prints one JSON line: {"ok": result} or {"error":
exception class name}.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pymongo import MongoClient

from embedded_mongo import EmbeddedClient


def run(db: Any, action: str, args: list[str]) -> Any:
    collection = db[args[0]]
    if action == "insert":
        count, tag = int(args[1]), args[2]
        for index in range(count):
            collection.insert_one({"writer": tag, "i": index, "isActive": True})
        return count
    if action == "positions":
        count, tag = int(args[1]), args[2]
        positions = []
        with db.client.start_session() as session:
            for index in range(count):
                collection.insert_one({"writer": tag, "i": index}, session=session)
                positions.append([session.operation_time.time, session.operation_time.inc])
        return positions
    if action == "inc":
        document_id, count = args[1], int(args[2])
        for _ in range(count):
            collection.update_one({"_id": document_id}, {"$inc": {"n": 1}}, upsert=True)
        return count
    if action == "count":
        return collection.count_documents({})
    raise SystemExit(f"unknown action {action}")


def main(argv: list[str]) -> None:
    kind, target, name, action, *args = argv
    client = EmbeddedClient(target) if kind == "embedded" else MongoClient(target)
    try:
        print(json.dumps({"ok": run(client[name], action, args)}))
    except Exception as exc:  # reported to the parent test, which asserts on it
        print(json.dumps({"error": type(exc).__name__}))


if __name__ == "__main__":
    main(sys.argv[1:])
