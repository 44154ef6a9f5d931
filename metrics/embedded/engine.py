"""The storage engine under the embedded client: a SQLite file, its oplog and a mongomock mirror.

Every process that opens the same file sees the same hospital. Writes take
SQLite's write lock (BEGIN IMMEDIATE), first replay what other processes
appended to the oplog, then persist the documents and their oplog entries in
one transaction, and only then touch the in-memory mirror. Reads replay the
oplog tail and then query the mirror with mongomock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import mongomock
from mongomock import helpers as mongomock_helpers
from pymongo.errors import ServerSelectionTimeoutError

from . import codec

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    db TEXT NOT NULL, coll TEXT NOT NULL, key BLOB NOT NULL, doc BLOB NOT NULL,
    PRIMARY KEY (db, coll, key)
);
CREATE TABLE IF NOT EXISTS oplog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    wall_ms INTEGER NOT NULL,
    db TEXT NOT NULL, coll TEXT NOT NULL, op TEXT NOT NULL,
    key BLOB, doc BLOB, update_desc BLOB
);
CREATE TABLE IF NOT EXISTS indexes (
    db TEXT NOT NULL, coll TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
    PRIMARY KEY (db, coll, name)
);
"""
_TRIM_EVERY = 256


@dataclass(frozen=True)
class OplogEntry:
    """One write, as recorded: `doc` is the post-image (None for deletes and drops)."""

    db: str
    coll: str
    op: str  # insert | update | replace | delete | drop | dropDatabase
    document_id: Any = None
    doc: dict | None = None
    update_description: dict | None = None
    seq: int = 0
    wall_ms: int = 0


class Engine:
    """One open store file. Thread-safe: every operation holds the engine lock."""

    def __init__(self, path: str, history: int = 100_000) -> None:
        self.path = path
        self.history = max(10, int(history))
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._memory_unreachable = False
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._mirror = mongomock.MongoClient()
        self._last_seq = 0
        with self._lock:
            self._reload()

    # --- fault injection -----------------------------------------------------------------------
    @property
    def _flag_path(self) -> str | None:
        return None if self.path == ":memory:" else self.path + ".unreachable"

    def set_unreachable(self, unreachable: bool) -> None:
        """Make every client of this store file (in every process) fail as if the server were gone."""
        flag = self._flag_path
        if flag is None:
            self._memory_unreachable = unreachable
        elif unreachable:
            with open(flag, "w") as handle:
                handle.write("unreachable\n")
        elif os.path.exists(flag):
            os.unlink(flag)

    @property
    def unreachable(self) -> bool:
        flag = self._flag_path
        return self._memory_unreachable if flag is None else os.path.exists(flag)

    def check_reachable(self) -> None:
        if self.unreachable:
            raise ServerSelectionTimeoutError(
                f"embedded store {self.path} is unreachable (fault injection)"
            )

    # --- the mirror ------------------------------------------------------------------------------
    def mirror(self, db: str, coll: str) -> mongomock.Collection:
        return self._mirror[db][coll]

    def _store_of(self, db: str, coll: str):
        return self._mirror[db][coll]._store

    @staticmethod
    def _hashable(document_id: Any) -> Any:
        if isinstance(document_id, dict):
            return mongomock_helpers.hashdict(document_id)
        return document_id

    def _reload(self) -> None:
        for name in self._mirror.list_database_names():
            self._mirror.drop_database(name)
        self._mirror = mongomock.MongoClient()
        # Read the documents and the position in one read transaction.
        self._conn.execute("BEGIN")
        try:
            row = self._conn.execute("SELECT coalesce(max(seq), 0) FROM oplog").fetchone()
            for db, coll, doc in self._conn.execute("SELECT db, coll, doc FROM documents"):
                document = codec.decode(doc)
                self._store_of(db, coll)[self._hashable(document["_id"])] = document
        finally:
            self._conn.execute("COMMIT")
        self._last_seq = row[0]

    def _apply(self, entry: OplogEntry) -> None:
        if entry.op in ("insert", "update", "replace"):
            self._store_of(entry.db, entry.coll)[self._hashable(entry.document_id)] = entry.doc
        elif entry.op == "delete":
            store = self._store_of(entry.db, entry.coll)
            key = self._hashable(entry.document_id)
            if key in store:
                del store[key]
        elif entry.op == "drop":
            self._mirror[entry.db].drop_collection(entry.coll)
        elif entry.op == "dropDatabase":
            self._mirror.drop_database(entry.db)

    def _rows_after(self, seq: int, limit: int | None = None) -> list[tuple]:
        sql = (
            "SELECT seq, wall_ms, db, coll, op, key, doc, update_desc FROM oplog "
            "WHERE seq > ? ORDER BY seq"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._conn.execute(sql, (seq,)).fetchall()

    @staticmethod
    def _entry(row: tuple) -> OplogEntry:
        seq, wall_ms, db, coll, op, key, doc, update_desc = row
        return OplogEntry(
            db=db,
            coll=coll,
            op=op,
            document_id=codec.id_of(key) if key is not None else None,
            doc=codec.decode(doc) if doc is not None else None,
            update_description=codec.decode(update_desc) if update_desc is not None else None,
            seq=seq,
            wall_ms=wall_ms,
        )

    def _catch_up(self) -> None:
        rows = self._rows_after(self._last_seq)
        if not rows:
            return
        if rows[0][0] != self._last_seq + 1:
            # Another process wrote so much that the oplog was trimmed past us.
            self._reload()
            return
        for row in rows:
            self._apply(self._entry(row))
            self._last_seq = row[0]

    # --- operations ------------------------------------------------------------------------------
    def read(self, operation: Callable[[], T]) -> T:
        """Run a read against an up-to-date mirror. `operation` must materialize its results."""
        with self._lock:
            self.check_reachable()
            self._catch_up()
            return operation()

    def write(self, operation: Callable[[], tuple[list[OplogEntry], T]]) -> T:
        """Run a write: `operation` computes oplog entries from the mirror without mutating it."""
        with self._lock:
            self.check_reachable()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._catch_up()
                entries, result = operation()
                written = self._persist(entries)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            for entry in written:
                self._apply(entry)
                self._last_seq = entry.seq
            if written:
                self.changed.notify_all()
            return result

    def _persist(self, entries: Iterable[OplogEntry]) -> list[OplogEntry]:
        written: list[OplogEntry] = []
        wall_ms = int(time.time() * 1000)
        for entry in entries:
            key = codec.key_of(entry.document_id) if entry.document_id is not None else None
            doc = codec.encode(entry.doc) if entry.doc is not None else None
            if entry.op in ("insert", "update", "replace"):
                self._conn.execute(
                    "INSERT OR REPLACE INTO documents (db, coll, key, doc) VALUES (?, ?, ?, ?)",
                    (entry.db, entry.coll, key, doc),
                )
            elif entry.op == "delete":
                self._conn.execute(
                    "DELETE FROM documents WHERE db = ? AND coll = ? AND key = ?",
                    (entry.db, entry.coll, key),
                )
            elif entry.op == "drop":
                self._conn.execute(
                    "DELETE FROM documents WHERE db = ? AND coll = ?", (entry.db, entry.coll)
                )
                self._conn.execute(
                    "DELETE FROM indexes WHERE db = ? AND coll = ?", (entry.db, entry.coll)
                )
            elif entry.op == "dropDatabase":
                self._conn.execute("DELETE FROM documents WHERE db = ?", (entry.db,))
                self._conn.execute("DELETE FROM indexes WHERE db = ?", (entry.db,))
            update_desc = (
                codec.encode(entry.update_description)
                if entry.update_description is not None
                else None
            )
            cursor = self._conn.execute(
                "INSERT INTO oplog (wall_ms, db, coll, op, key, doc, update_desc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (wall_ms, entry.db, entry.coll, entry.op, key, doc, update_desc),
            )
            seq = cursor.lastrowid
            written.append(
                OplogEntry(
                    entry.db, entry.coll, entry.op, entry.document_id, entry.doc,
                    entry.update_description, seq, wall_ms,
                )
            )
            if seq % _TRIM_EVERY == 0:
                self._conn.execute("DELETE FROM oplog WHERE seq <= ?", (seq - self.history,))
        return written

    # --- what change streams and admin commands need -------------------------------------------
    def oplog_bounds(self) -> tuple[int, int]:
        """(oldest retained position, newest position); (0, 0) when nothing was ever written."""
        with self._lock:
            self.check_reachable()
            low, high = self._conn.execute(
                "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM oplog"
            ).fetchone()
            if high == 0:
                # sqlite_sequence remembers positions of trimmed-away entries.
                seq_row = self._conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'oplog'"
                ).fetchone()
                high = seq_row[0] if seq_row else 0
                low = high + 1
            return low, high

    def oplog_after(self, seq: int, limit: int) -> list[OplogEntry]:
        """Entries after `seq`, with the mirror caught up so lookups see at least that state."""
        with self._lock:
            self.check_reachable()
            self._catch_up()
            return [self._entry(row) for row in self._rows_after(seq, limit)]

    def lookup(self, db: str, coll: str, document_id: Any) -> dict | None:
        """The current version of a document (what `updateLookup` returns)."""
        with self._lock:
            store = self._store_of(db, coll)
            key = self._hashable(document_id)
            return codec.normalize(store[key]) if key in store else None

    def save_index(self, db: str, coll: str, name: str, spec: dict) -> None:
        with self._lock:
            self.check_reachable()
            self._conn.execute(
                "INSERT OR REPLACE INTO indexes (db, coll, name, spec) VALUES (?, ?, ?, ?)",
                (db, coll, name, codec.encode(spec)),
            )

    def indexes(self, db: str, coll: str) -> dict[str, dict]:
        with self._lock:
            self.check_reachable()
            rows = self._conn.execute(
                "SELECT name, spec FROM indexes WHERE db = ? AND coll = ?", (db, coll)
            ).fetchall()
            return {name: codec.decode(spec) for name, spec in rows}

    def collection_names(self, db: str) -> list[str]:
        return self.read(
            lambda: sorted(
                {
                    name
                    for (name,) in self._conn.execute(
                        "SELECT DISTINCT coll FROM documents WHERE db = ? "
                        "UNION SELECT DISTINCT coll FROM indexes WHERE db = ?",
                        (db, db),
                    )
                }
            )
        )

    def database_names(self) -> list[str]:
        return self.read(
            lambda: sorted(
                {name for (name,) in self._conn.execute("SELECT DISTINCT db FROM documents")}
            )
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
