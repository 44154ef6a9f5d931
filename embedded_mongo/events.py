"""Change events built from oplog entries, in the shape MongoDB documents for each operation type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import codec
from .engine import OplogEntry

Lookup = Callable[[str, str, Any], "dict | None"]


def events_for(
    entry: OplogEntry, db: str | None, coll: str | None, full_document: str | None, lookup: Lookup
) -> list[dict]:
    """The events a stream on `db`/`coll` (None: all) sees for one oplog entry."""
    if db is not None and entry.db != db:
        return []
    base = {
        "clusterTime": entry.cluster_time,
        "wallTime": codec.datetime_of_ms(entry.wall_ms),
    }
    invalidate = {
        "_id": codec.make_token(entry.seq, invalidate=True),
        "operationType": "invalidate",
        **base,
    }
    if entry.op == "dropDatabase":
        if coll is not None:
            return []  # the collection's own drop entry came first and invalidated it
        dropped = {
            "_id": codec.make_token(entry.seq),
            "operationType": "dropDatabase",
            **base,
            "ns": {"db": entry.db},
        }
        return [dropped, invalidate] if db is not None else [dropped]
    if coll is not None and entry.coll != coll:
        return []
    event: dict[str, Any] = {
        "_id": codec.make_token(entry.seq),
        "operationType": entry.op,
        **base,
        "ns": {"db": entry.db, "coll": entry.coll},
    }
    if entry.op == "drop":
        return [event, invalidate] if coll is not None else [event]
    event["documentKey"] = {"_id": entry.document_id}
    if entry.op == "update":
        event["updateDescription"] = entry.update_description
        if full_document == "updateLookup":
            # The document as it is now, not as this update left it (null once deleted).
            event["fullDocument"] = lookup(entry.db, entry.coll, entry.document_id)
    elif entry.op in ("insert", "replace"):
        event["fullDocument"] = entry.doc
    return [event]
