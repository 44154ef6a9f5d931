"""The instance's board: every socket its workers hold, and each worker's heartbeat.

One instance (`serve`, or `serve --workers N`) keeps one board, so that its
limits hold for the instance as a whole whichever worker the kernel hands a
connection to: the board counts sockets per principal, per address and
waiting to sign in, across workers (live/sockets/admission.py decides with those
counts). A single process keeps it in memory; a supervisor creates it as a
SQLite file in its private directory and gives each worker its path
(DASHBOARD_INSTANCE_BOARD) and index (DASHBOARD_WORKER_INDEX). SQLite gives
the one thing needed across processes: a transaction in which a worker reads
the counts and takes a slot, so that a limit of 20 admits exactly 20.

Workers also note a heartbeat here every second from their event loop; the
supervisor replaces a worker that falls silent (live/sockets/workers.py), and
`/health/live/` fails while one is (live/health.py).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

BOARD_ENV = "DASHBOARD_INSTANCE_BOARD"
WORKER_ENV = "DASHBOARD_WORKER_INDEX"
HEARTBEAT_SECONDS = 1.0
# A worker silent this long is missing: /health/live/ fails until it beats again or is replaced.
MISSING_AFTER_SECONDS = 3.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sockets (
    worker INTEGER NOT NULL,
    id INTEGER NOT NULL,
    principal TEXT,
    address TEXT NOT NULL,
    waiting INTEGER NOT NULL,
    PRIMARY KEY (worker, id)
);
CREATE INDEX IF NOT EXISTS sockets_by_principal ON sockets (principal);
CREATE INDEX IF NOT EXISTS sockets_by_address ON sockets (address, waiting);
CREATE TABLE IF NOT EXISTS workers (
    idx INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    beat REAL
);
"""


@dataclass(frozen=True)
class Counts:
    """What a decision about one newcomer needs to know of the instance."""

    total: int  # every socket
    waiting: int  # sockets not signed in yet
    of_principal: int  # signed-in sockets of the newcomer's principal
    of_address: int  # signed-in sockets from the newcomer's address
    waiting_of_address: int  # sockets from that address not signed in yet


@dataclass(frozen=True)
class WorkerBeat:
    index: int
    pid: int
    started: float
    beat: float | None  # None: not serving yet

    def silent_for(self, now: float) -> float:
        return now - (self.beat if self.beat is not None else self.started)


class Board:
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        # One connection per process, used under a lock: the event loop admits, a request thread
        # may read the heartbeats.
        self._db = sqlite3.connect(
            path or ":memory:", timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
        # The board lives as long as the instance: nothing in it needs to survive a crash.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Counts read and changes made in here are one step for every worker of the instance."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- sockets ----------------------------------------------------------------------------------
    def remove(self, worker: int, socket_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sockets WHERE worker = ? AND id = ?", (worker, socket_id))

    def socket_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM sockets").fetchone()[0]

    # --- workers ----------------------------------------------------------------------------------
    def worker_started(self, index: int, pid: int) -> None:
        """Worker `index` (re)starts as `pid`: the sockets of its predecessor are gone."""
        with self._lock:
            self._db.execute("DELETE FROM sockets WHERE worker = ?", (index,))
            self._db.execute(
                "INSERT OR REPLACE INTO workers (idx, pid, started, beat) VALUES (?, ?, ?, NULL)",
                (index, pid, time.time()),
            )

    def beat(self, index: int) -> None:
        with self._lock:
            self._db.execute("UPDATE workers SET beat = ? WHERE idx = ?", (time.time(), index))

    def workers(self) -> list[WorkerBeat]:
        with self._lock:
            rows = self._db.execute("SELECT idx, pid, started, beat FROM workers ORDER BY idx")
            return [WorkerBeat(*row) for row in rows.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def counts(self, principal: str | None, address: str) -> Counts:
        total, waiting = self._db.execute(
            "SELECT count(*), coalesce(sum(waiting), 0) FROM sockets"
        ).fetchone()
        of_principal = 0
        if principal is not None:
            of_principal = self._db.execute(
                "SELECT count(*) FROM sockets WHERE principal = ? AND waiting = 0", (principal,)
            ).fetchone()[0]
        signed_in, waiting_here = self._db.execute(
            "SELECT coalesce(sum(1 - waiting), 0), coalesce(sum(waiting), 0) "
            "FROM sockets WHERE address = ?",
            (address,),
        ).fetchone()
        return Counts(total, waiting, of_principal, signed_in, waiting_here)

    def add(self, worker: int, socket_id: int, principal: str | None, address: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sockets (worker, id, principal, address, waiting) "
            "VALUES (?, ?, ?, ?, ?)",
            (worker, socket_id, principal, address, int(principal is None)),
        )

    def sign_in(self, worker: int, socket_id: int, principal: str) -> None:
        self._db.execute(
            "UPDATE sockets SET principal = ?, waiting = 0 WHERE worker = ? AND id = ?",
            (principal, worker, socket_id),
        )

    def remove(self, worker: int, socket_id: int) -> None:
        self._db.execute("DELETE FROM sockets WHERE worker = ? AND id = ?", (worker, socket_id))


def worker_index() -> int:
    """This process's index among the instance's workers (0 when it is the only one)."""
    return int(os.environ.get(WORKER_ENV) or 0)


_board: Board | None = None


def instance_board() -> Board:
    """The board of the instance this process belongs to (opened on first use)."""
    global _board
    if _board is None:
        _board = Board(os.environ.get(BOARD_ENV) or None)
    return _board


async def heartbeat_forever(board: Board, index: int) -> None:
    """A worker's heartbeat, from its event loop: a hung or stopped loop falls silent."""
    while True:
        board.beat(index)
        await asyncio.sleep(HEARTBEAT_SECONDS)


def missing_workers(board: Board, now: float | None = None) -> list[int]:
    """Workers of the instance not serving: not started yet, or silent for a while."""
    now = time.time() if now is None else now
    return [
        worker.index
        for worker in board.workers()
        if worker.beat is None or worker.silent_for(now) > MISSING_AFTER_SECONDS
    ]
