"""Sessions of the embedded store: pymongo's ClientSession as far as positions go.

`client.start_session()` gives a session to pass as `session=` to reads, writes
and commands. Like a replica set's, it learns from each operation the cluster
time it ran at (`operation_time`): after a write, that write's position, the
clusterTime its change event carries; after a read or a command, the newest
position the store held when it ran. Every read already sees every committed
write, so a causally consistent session needs nothing more. Transactions are
not supported.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from bson.binary import Binary, UuidRepresentation
from bson.timestamp import Timestamp
from pymongo.errors import InvalidOperation, OperationFailure

ILLEGAL_OPERATION = 20


class EmbeddedSession:
    """One logical session of one client (not thread-safe, as pymongo's is not)."""

    def __init__(self, client: Any, engine: Any, causal_consistency: bool | None = None) -> None:
        self._client = client
        self._engine = engine
        self.causal_consistency = True if causal_consistency is None else causal_consistency
        self._operation_time: Timestamp | None = None
        self._cluster_time: Mapping[str, Any] | None = None
        self._id = {"id": Binary.from_uuid(uuid.uuid4(), UuidRepresentation.STANDARD)}
        self._ended = False

    # --- pymongo's ClientSession ------------------------------------------------------------------
    @property
    def client(self) -> Any:
        return self._client

    @property
    def session_id(self) -> Mapping[str, Any]:
        self._check_ended()
        return self._id

    @property
    def has_ended(self) -> bool:
        return self._ended

    @property
    def in_transaction(self) -> bool:
        return False

    @property
    def operation_time(self) -> Timestamp | None:
        """The cluster time of the last operation run in this session (None before any)."""
        return self._operation_time

    @property
    def cluster_time(self) -> Mapping[str, Any] | None:
        return self._cluster_time

    def advance_operation_time(self, operation_time: Timestamp) -> None:
        if not isinstance(operation_time, Timestamp):
            raise TypeError(
                "operation_time must be an instance of bson.timestamp.Timestamp, not "
                f"{type(operation_time)}"
            )
        if self._operation_time is None or operation_time > self._operation_time:
            self._operation_time = operation_time
        self._advance_cluster_time(cluster_time_document(operation_time))

    def advance_cluster_time(self, cluster_time: Mapping[str, Any]) -> None:
        if not isinstance(cluster_time, Mapping):
            raise TypeError(
                f"cluster_time must be a subclass of collections.Mapping, not {type(cluster_time)}"
            )
        if not isinstance(cluster_time.get("clusterTime"), Timestamp):
            raise TypeError("Invalid cluster_time")
        self._advance_cluster_time(cluster_time)

    def _advance_cluster_time(self, cluster_time: Mapping[str, Any]) -> None:
        current = self._cluster_time
        if current is None or cluster_time["clusterTime"] > current["clusterTime"]:
            self._cluster_time = cluster_time

    def start_transaction(self, *args: Any, **kwargs: Any) -> Any:
        raise OperationFailure(
            "transactions are not supported by the embedded store", code=ILLEGAL_OPERATION
        )

    with_transaction = start_transaction

    def end_session(self) -> None:
        self._ended = True

    def __enter__(self) -> EmbeddedSession:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.end_session()

    # --- the store's side -------------------------------------------------------------------------
    def _check_ended(self) -> None:
        if self._ended:
            raise InvalidOperation("Cannot use ended session")


def cluster_time_document(timestamp: Timestamp) -> dict:
    """`$clusterTime` as a replica set without authentication sends it."""
    return {"clusterTime": timestamp, "signature": {"hash": Binary(bytes(20)), "keyId": 0}}


def checked(session: Any, engine: Any) -> EmbeddedSession | None:
    """The session an operation was given, if any, once it is known to be usable here."""
    if session is None:
        return None
    if not isinstance(session, EmbeddedSession):
        raise TypeError(f"session must be an instance of ClientSession, not {type(session)}")
    if session._engine is not engine:
        raise InvalidOperation("Can only use session with the MongoClient that started it")
    session._check_ended()
    return session
