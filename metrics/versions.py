"""What a metric value's `version` is: the database position of the state the value reflects.

A position is MongoDB's cluster time, a `bson.Timestamp(t, i)`: t seconds and
the i-th operation within that second. Every producer of values takes it from
the database, so versions from the listener, from a read-through computation
in any process and on any host compare as the states they reflect do:

- the listener: the clusterTime of the last change folded into its state
  (at start, the position read before its scans);
- a computation from MongoDB: the position read just before its reads
  (`position_now`), no later than any write those reads see.

The version is `t << 21 | min(i, 2**21 - 1)`: order-preserving (a later
position never has a smaller version; more than 2,097,151 operations in one
second share the last one, and equal versions are allowed), and below 2**53
until the year 2106, so a JavaScript number holds it exactly.
"""

from __future__ import annotations

from typing import Any

from bson.timestamp import Timestamp

INCREMENT_BITS = 21
MAX_INCREMENT = (1 << INCREMENT_BITS) - 1
# Below 2**53 (Number.MAX_SAFE_INTEGER + 1) for every t a Timestamp can hold (t < 2**32).
LIMIT = 1 << 53
# What the REST and WebSocket schemas say of `version`.
DESCRIPTION = (
    "The hospital database's position (cluster time, seconds << 21 | increment) of the state "
    "the value reflects; the same clock for every server and the listener. Compare numerically: "
    "keep a value whose version is greater than or equal to the one you hold (equal: the same "
    "state computed again later). Below 2^53, exact as a JavaScript number."
)


def version_of(position: Timestamp) -> int:
    """The version of a value that reflects the database's state at `position`."""
    return position.time << INCREMENT_BITS | min(position.inc, MAX_INCREMENT)


def position_of(version: int) -> Timestamp:
    """The position a version stands for (the first of its second's increments past the cap)."""
    return Timestamp(version >> INCREMENT_BITS, version & MAX_INCREMENT)


def position_now(database: Any) -> int:
    """The database's current position, as a version: read before a computation's reads, so
    it is no later than any write they see.

    The `operationTime` of a ping in a session, through pymongo's API: a replica set
    answers with its latest applied cluster time, the embedded store with its newest
    oplog entry's. A deployment that gives no position (a standalone server, which
    has no change streams either) is refused.
    """
    with database.client.start_session() as session:
        database.command("ping", session=session)
        position = session.operation_time
    if position is None:
        raise RuntimeError("the hospital database gave no cluster time: a replica set is needed")
    return version_of(position)
