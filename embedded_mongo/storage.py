"""The store file: documents, the oplog and the collections' indexes, in one SQLite database.

WAL mode lets readers in other processes go on while one process writes; a
write holds SQLite's write lock (BEGIN IMMEDIATE) from reading the oplog tail
to committing, so positions in the oplog are handed out in commit order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from . import codec

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
_ID_INDEX_SPEC = codec.encode({"key": [["_id", 1]]})
_COLUMNS = "seq, wall_ms, db, coll, op, key, doc, update_desc"


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


class Storage:
    """One connection to the store file. Not thread-safe: the engine serializes its use."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        # Files written before collections were recorded: every collection with documents exists.
        self._conn.execute(
            "INSERT OR IGNORE INTO indexes (db, coll, name, spec) "
            "SELECT DISTINCT db, coll, '_id_', ? FROM documents",
            (_ID_INDEX_SPEC,),
        )

    @contextmanager
    def transaction(self, write: bool) -> Iterator[None]:
        """A read snapshot or the write lock; inside an open transaction, that one."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def snapshot(self) -> tuple[list[tuple[str, str, dict]], int, int]:
        """(every document with its db and coll, last oplog position, last wall time in ms)."""
        with self.transaction(write=False):
            seq, wall_ms = self._conn.execute(
                "SELECT coalesce(max(seq), 0), coalesce(max(wall_ms), 0) FROM oplog"
            ).fetchone()
            rows = self._conn.execute("SELECT db, coll, doc FROM documents").fetchall()
        return [(db, coll, codec.decode(doc)) for db, coll, doc in rows], seq, wall_ms

    def entries_after(self, seq: int, limit: int | None = None) -> list[OplogEntry]:
        sql = f"SELECT {_COLUMNS} FROM oplog WHERE seq > ? ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_entry(row) for row in self._conn.execute(sql, (seq,)).fetchall()]

    def bounds(self) -> tuple[int, int]:
        """(oldest retained position, newest position); (1, 0) when nothing was ever written."""
        low, high = self._conn.execute(
            "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM oplog"
        ).fetchone()
        if high == 0:
            # sqlite_sequence remembers positions of trimmed-away entries.
            row = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'oplog'"
            ).fetchone()
            high = row[0] if row else 0
            low = high + 1
        return low, high

    def persist(self, entries: Iterable[OplogEntry], wall_ms: int) -> list[OplogEntry]:
        """Apply `entries` to the documents and append them to the oplog; returns them numbered."""
        written = []
        for entry in entries:
            key = codec.key_of(entry.document_id) if entry.document_id is not None else None
            doc = codec.encode(entry.doc) if entry.doc is not None else None
            self._apply(entry, key, doc)
            description = entry.update_description
            cursor = self._conn.execute(
                "INSERT INTO oplog (wall_ms, db, coll, op, key, doc, update_desc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    wall_ms,
                    entry.db,
                    entry.coll,
                    entry.op,
                    key,
                    doc,
                    codec.encode(description) if description is not None else None,
                ),
            )
            assert cursor.lastrowid is not None  # set by every INSERT
            written.append(replace(entry, seq=cursor.lastrowid, wall_ms=wall_ms))
        return written

    def _apply(self, entry: OplogEntry, key: bytes | None, doc: bytes | None) -> None:
        if entry.op in ("insert", "update", "replace"):
            self._conn.execute(
                "INSERT OR REPLACE INTO documents (db, coll, key, doc) VALUES (?, ?, ?, ?)",
                (entry.db, entry.coll, key, doc),
            )
            if entry.op == "insert":
                self._create_collection(entry.db, entry.coll)
        elif entry.op == "delete":
            self._conn.execute(
                "DELETE FROM documents WHERE db = ? AND coll = ? AND key = ?",
                (entry.db, entry.coll, key),
            )
        elif entry.op == "drop":
            for table in ("documents", "indexes"):
                self._conn.execute(
                    f"DELETE FROM {table} WHERE db = ? AND coll = ?", (entry.db, entry.coll)
                )
        elif entry.op == "dropDatabase":
            for table in ("documents", "indexes"):
                self._conn.execute(f"DELETE FROM {table} WHERE db = ?", (entry.db,))

    def trim(self, keep: int) -> None:
        """Forget all but the newest `keep` oplog entries (resuming before them is code 286)."""
        self._conn.execute(
            "DELETE FROM oplog WHERE seq <= (SELECT max(seq) FROM oplog) - ?", (keep,)
        )

    # A collection exists while it has its `_id_` index row: created by its first
    # insert or index, removed by a drop, as in MongoDB.
    def _create_collection(self, db: str, coll: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO indexes (db, coll, name, spec) VALUES (?, ?, '_id_', ?)",
            (db, coll, _ID_INDEX_SPEC),
        )

    def save_index(self, db: str, coll: str, name: str, spec: dict) -> None:
        with self.transaction(write=True):
            self._create_collection(db, coll)
            self._conn.execute(
                "INSERT OR REPLACE INTO indexes (db, coll, name, spec) VALUES (?, ?, ?, ?)",
                (db, coll, name, codec.encode(spec)),
            )

    def indexes(self, db: str, coll: str) -> dict[str, dict]:
        rows = self._conn.execute(
            "SELECT name, spec FROM indexes WHERE db = ? AND coll = ?", (db, coll)
        ).fetchall()
        return {name: codec.decode(spec) for name, spec in rows}

    def collection_names(self, db: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT coll FROM indexes WHERE db = ? ORDER BY coll", (db,)
        ).fetchall()
        return [name for (name,) in rows]

    def database_names(self) -> list[str]:
        rows = self._conn.execute("SELECT DISTINCT db FROM indexes ORDER BY db").fetchall()
        return [name for (name,) in rows]

    def close(self) -> None:
        self._conn.close()


def _entry(row: tuple) -> OplogEntry:
    seq, wall_ms, db, coll, op, key, doc, description = row
    return OplogEntry(
        db=db,
        coll=coll,
        op=op,
        document_id=codec.id_of(key) if key is not None else None,
        doc=codec.decode(doc) if doc is not None else None,
        update_description=codec.decode(description) if description is not None else None,
        seq=seq,
        wall_ms=wall_ms,
    )
