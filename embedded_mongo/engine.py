"""The engine under the embedded client: the store file plus an in-memory mongomock mirror.

Every process that opens the same file sees the same hospital. A write takes
the file's write lock, first replays what other processes appended to the
oplog, then persists the documents and their oplog entries in one transaction,
and only then touches the mirror. A read replays the oplog tail and then
queries the mirror with mongomock.

The engine's position is the cluster time of the last oplog entry its mirror
holds: after a write, that write's; after a read, the newest entry the read
saw. An operation run with a session advances the session's operation time
to it, as a replica set's reply does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import mongomock
from bson.timestamp import Timestamp
from mongomock import helpers as mongomock_helpers

from . import codec
from .faults import FaultSwitch
from .sessions import EmbeddedSession, checked
from .storage import OplogEntry, Storage

T = TypeVar("T")
_TRIM_EVERY = 256  # trimming is a DELETE over the oldest rows: do it in strides, not per write

__all__ = ["Engine", "OplogEntry", "PartialWrite"]


class PartialWrite(Exception):
    """Raised by a write operation that keeps `entries` and then fails with `error`.

    An ordered insert_many that meets a duplicate keeps the documents before it,
    as MongoDB does; the engine commits those and then raises `error`.
    """

    def __init__(self, entries: list[OplogEntry], error: Exception) -> None:
        super().__init__(str(error))
        self.entries = entries
        self.error = error


class Engine:
    """One open store file. Thread-safe: every operation holds the engine lock."""

    def __init__(self, path: str, history: int = 100_000) -> None:
        self.path = path
        self.history = max(10, int(history))
        self._trim_every = max(1, min(_TRIM_EVERY, self.history // 4))
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._faults = FaultSwitch(path)
        self._storage = Storage(path)
        with self._lock:
            self._reload()

    # --- the fault switch ------------------------------------------------------------------------
    def set_unreachable(self, unreachable: bool) -> None:
        """Make every client of this store file (in every process) fail as if the server were gone."""
        self._faults.set(unreachable)

    def check_reachable(self) -> None:
        self._faults.check()

    # --- the mirror ------------------------------------------------------------------------------
    def mirror(self, db: str, coll: str) -> Any:
        """The mongomock collection mirroring `db.coll` (mongomock is untyped)."""
        return self._mirror[db][coll]

    def _store_of(self, db: str, coll: str):
        return self._mirror[db][coll]._store

    @staticmethod
    def hashable(document_id: Any) -> Any:
        """The mirror's key for an `_id` (documents as _id are hashed by value)."""
        if isinstance(document_id, dict):
            return mongomock_helpers.hashdict(document_id)
        return document_id

    def _reload(self) -> None:
        self._mirror: Any = mongomock.MongoClient()
        documents, last = self._storage.snapshot()
        self._last_seq, self._last_wall_ms = last.seq, last.wall_ms
        self._position = last.cluster_time
        for db, coll, document in documents:
            self._store_of(db, coll)[self.hashable(document["_id"])] = document

    def _apply(self, entry: OplogEntry) -> None:
        if entry.op in ("insert", "update", "replace"):
            self._store_of(entry.db, entry.coll)[self.hashable(entry.document_id)] = entry.doc
        elif entry.op == "delete":
            store = self._store_of(entry.db, entry.coll)
            key = self.hashable(entry.document_id)
            if key in store:
                del store[key]
        elif entry.op == "drop":
            self._mirror[entry.db].drop_collection(entry.coll)
        elif entry.op == "dropDatabase":
            self._mirror.drop_database(entry.db)
        self._last_seq = entry.seq
        self._last_wall_ms = max(self._last_wall_ms, entry.wall_ms)
        self._position = entry.cluster_time

    def _catch_up(self) -> None:
        entries = self._storage.entries_after(self._last_seq)
        if entries and entries[0].seq != self._last_seq + 1:
            # Another process wrote so much that the oplog was trimmed past us.
            self._reload()
            return
        for entry in entries:
            self._apply(entry)

    # --- operations ------------------------------------------------------------------------------
    def position(self) -> Timestamp:
        """The cluster time of the newest entry in the mirror (Timestamp(0, 0) before any write)."""
        with self._lock:
            return self._position

    def read(self, operation: Callable[[], T], session: EmbeddedSession | None = None) -> T:
        """Run a read against an up-to-date mirror. `operation` must materialize its results."""
        session = checked(session, self)
        with self._lock:
            self.check_reachable()
            self._catch_up()
            result = operation()
            if session is not None:
                session.advance_operation_time(self._position)
            return result

    def write(
        self,
        operation: Callable[[], tuple[list[OplogEntry], T]],
        session: EmbeddedSession | None = None,
    ) -> T:
        """Run a write: `operation` computes oplog entries from the mirror without mutating it.

        It may raise PartialWrite to commit some entries and then fail. A session's operation
        time becomes the last entry written (the newest position when nothing was).
        """
        session = checked(session, self)
        with self._lock:
            self.check_reachable()
            failure: Exception | None = None
            with self._storage.transaction(write=True):
                self._catch_up()
                try:
                    entries, result = operation()
                except PartialWrite as partial:
                    entries, result, failure = partial.entries, None, partial.error
                # Never earlier than the last entry, so clusterTime never goes backwards.
                wall_ms = max(int(time.time() * 1000), self._last_wall_ms)
                written = self._storage.persist(entries, wall_ms)
                if any(entry.seq % self._trim_every == 0 for entry in written):
                    self._storage.trim(self.history)
            for entry in written:
                self._apply(entry)
            if session is not None:
                session.advance_operation_time(self._position)
            if written:
                self.changed.notify_all()
            if failure is not None:
                raise failure
            return cast(T, result)  # set by operation() whenever no failure was raised

    # --- what change streams, indexes and admin commands need ----------------------------------
    def oplog_bounds(self) -> tuple[int, int]:
        """(oldest retained position, newest position)."""
        with self._lock:
            self.check_reachable()
            return self._storage.bounds()

    def oplog_after(self, seq: int, limit: int) -> list[OplogEntry]:
        """Entries after `seq`, with the mirror caught up so lookups see at least that state."""
        with self._lock:
            self.check_reachable()
            entries = self._storage.entries_after(seq, limit)
            # Caught up after reading the entries: one written by another process in between
            # is then in the mirror too, so its lookup is never older than the change itself.
            self._catch_up()
            return entries

    def lookup(self, db: str, coll: str, document_id: Any) -> dict | None:
        """The current version of a document (what `updateLookup` returns)."""
        with self._lock:
            store = self._store_of(db, coll)
            key = self.hashable(document_id)
            return codec.normalize(store[key]) if key in store else None

    def save_index(self, db: str, coll: str, name: str, spec: dict) -> None:
        with self._lock:
            self.check_reachable()
            self._storage.save_index(db, coll, name, spec)

    def indexes(self, db: str, coll: str) -> dict[str, dict]:
        """The collection's index specs by name, `_id_` included; empty when it does not exist."""
        with self._lock:
            self.check_reachable()
            return self._storage.indexes(db, coll)

    def collection_names(self, db: str) -> list[str]:
        with self._lock:
            self.check_reachable()
            return self._storage.collection_names(db)

    def database_names(self) -> list[str]:
        with self._lock:
            self.check_reachable()
            return self._storage.database_names()

    def close(self) -> None:
        with self._lock:
            self._storage.close()
