"""The store file: documents, the oplog and the collections' indexes, in one SQLite database.

WAL mode lets readers in other processes go on while one process writes; a
write holds SQLite's write lock (BEGIN IMMEDIATE) from reading the oplog tail
to committing, so positions in the oplog are handed out in commit order.

Each oplog entry keeps its cluster time's increment (`inc`): as on MongoDB it
counts the entries within one second of `wall_ms` (1, 2, ... and 1 again in
the next second). It is persisted with the entry, so every process reading
the oplog sees the same cluster time for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from bson.timestamp import Timestamp

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
    key BLOB, doc BLOB, update_desc BLOB,
    inc INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS indexes (
    db TEXT NOT NULL, coll TEXT NOT NULL, name TEXT NOT NULL, spec BLOB NOT NULL,
    PRIMARY KEY (db, coll, name)
);
"""
_ID_INDEX_SPEC = codec.encode({"key": [["_id", 1]]})
_COLUMNS = "seq, wall_ms, db, coll, op, key, doc, update_desc, inc"
# Files written before increments were kept: number each second's entries in oplog order.
_NUMBER_INCREMENTS = """
UPDATE oplog SET inc = numbered.n FROM (
    SELECT seq, row_number() OVER (PARTITION BY wall_ms / 1000 ORDER BY seq) AS n FROM oplog
) AS numbered WHERE oplog.seq = numbered.seq
"""


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
    inc: int = 0  # the cluster time's increment within the second of wall_ms

    @property
    def cluster_time(self) -> Timestamp:
        """Its position on MongoDB's clock: (seconds, increment within that second)."""
        return Timestamp(self.wall_ms // 1000, self.inc)


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
        if not self._has_increments():
            with self.transaction(write=True):
                if not self._has_increments():  # another process may have just done it
                    self._conn.execute(
                        "ALTER TABLE oplog ADD COLUMN inc INTEGER NOT NULL DEFAULT 0"
                    )
                    self._conn.execute(_NUMBER_INCREMENTS)

    def _has_increments(self) -> bool:
        return any(row[1] == "inc" for row in self._conn.execute("PRAGMA table_info(oplog)"))

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

    def snapshot(self) -> tuple[list[tuple[str, str, dict]], OplogEntry]:
        """(every document with its db and coll, the last oplog entry's position and clock).

        The entry carries only seq, wall_ms and inc (all 0 before any write).
        """
        with self.transaction(write=False):
            last = self._last_clock()
            rows = self._conn.execute("SELECT db, coll, doc FROM documents").fetchall()
        return [(db, coll, codec.decode(doc)) for db, coll, doc in rows], last

    def _last_clock(self) -> OplogEntry:
        """The newest oplog entry's seq, wall_ms and inc (zeros when there is none)."""
        row = self._conn.execute(
            "SELECT seq, wall_ms, inc FROM oplog ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, wall_ms, inc = row if row is not None else (0, 0, 0)
        return OplogEntry("", "", "", seq=seq, wall_ms=wall_ms, inc=inc)

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
        """Apply `entries` to the documents and append them to the oplog; returns them numbered.

        Inside the write transaction: the last entry read here is the last one committed.
        """
        written = []
        last = self._last_clock()
        inc = last.inc if last.seq and last.wall_ms // 1000 == wall_ms // 1000 else 0
        for entry in entries:
            inc += 1
            key = codec.key_of(entry.document_id) if entry.document_id is not None else None
            doc = codec.encode(entry.doc) if entry.doc is not None else None
            self._apply(entry, key, doc)
            description = entry.update_description
            cursor = self._conn.execute(
                "INSERT INTO oplog (wall_ms, db, coll, op, key, doc, update_desc, inc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    wall_ms,
                    entry.db,
                    entry.coll,
                    entry.op,
                    key,
                    doc,
                    codec.encode(description) if description is not None else None,
                    inc,
                ),
            )
            assert cursor.lastrowid is not None  # set by every INSERT
            written.append(replace(entry, seq=cursor.lastrowid, wall_ms=wall_ms, inc=inc))
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
    seq, wall_ms, db, coll, op, key, doc, description, inc = row
    return OplogEntry(
        db=db,
        coll=coll,
        op=op,
        document_id=codec.id_of(key) if key is not None else None,
        doc=codec.decode(doc) if doc is not None else None,
        update_description=codec.decode(description) if description is not None else None,
        seq=seq,
        wall_ms=wall_ms,
        inc=inc,
    )
