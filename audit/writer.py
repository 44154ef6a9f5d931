"""The bounded queue between the application and the audit table, and the thread that drains it.

`submit()` never blocks and never touches the database: it puts the entry in
a queue of DASHBOARD_AUDIT_QUEUE_SIZE entries, or, when that is full, counts
it as dropped (`dashboard_audit_dropped_total`), logs a warning (at most one
a minute) and keeps `/health/` degraded for DASHBOARD_AUDIT_DEGRADED_SECONDS.
One daemon thread per process takes entries in batches (up to
DASHBOARD_AUDIT_BATCH_SIZE, or what came within DASHBOARD_AUDIT_FLUSH_SECONDS),
appends each batch to the chain in one transaction (audit/chain.py), then logs
every entry written as one JSON line on logger `dashboard.audit`. A batch the
database refused is tried again, while new entries wait in the queue. At exit
the thread writes what is left.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from runtime import telemetry

from . import chain
from .reads import reads

logger = logging.getLogger("dashboard.audit.writer")
trail = logging.getLogger("dashboard.audit")

RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
DROP_LOG_INTERVAL = 60.0


class _Flush:
    """A marker in the queue: set once everything queued before it is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


class AuditWriter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False
        # Tests drain the queue themselves (drain()); the servers and commands run the thread.
        self.autostart = True
        self.dropped = 0
        self.last_drop: float | None = None
        self._last_drop_log = 0.0
        self._unlogged_drops = 0
        self.last_error: str | None = None
        self._last_reads_flush = time.monotonic()

    # --- the application's side: never waits -----------------------------------------------------
    @property
    def backlog(self) -> queue.Queue:
        if self._queue is None or self._pid != os.getpid():
            with self._lock:
                if self._queue is None or self._pid != os.getpid():
                    self._queue = queue.Queue(maxsize=settings.DASHBOARD_AUDIT_QUEUE_SIZE)
                    self._thread = None
                    self._pid = os.getpid()
        return self._queue

    def submit(self, content: dict[str, Any]) -> bool:
        """Queue an entry; False when the queue was full and it was dropped (counted, logged)."""
        entries = self.backlog
        if self.autostart and self._thread is None:
            self.start()
        try:
            entries.put_nowait(content)
            return True
        except queue.Full:
            self._drop(content)
            return False

    def _drop(self, content: dict[str, Any]) -> None:
        telemetry.audit_dropped.inc()
        now = time.monotonic()
        with self._lock:
            self.dropped += 1
            self.last_drop = now
            self._unlogged_drops += 1
            if now - self._last_drop_log < DROP_LOG_INTERVAL:
                return
            self._last_drop_log, count, self._unlogged_drops = now, self._unlogged_drops, 0
        logger.warning(
            "audit queue full (%d entries): %d audit entries dropped, the last a %s event; "
            "see dashboard_audit_dropped_total",
            settings.DASHBOARD_AUDIT_QUEUE_SIZE,
            count,
            content.get("event"),
        )

    def health(self) -> dict[str, Any]:
        """For /health/: degraded while entries were dropped lately or the last write failed."""
        window = settings.DASHBOARD_AUDIT_DEGRADED_SECONDS
        recent = self.last_drop is not None and time.monotonic() - self.last_drop < window
        report: dict[str, Any] = {
            "queued": self.backlog.qsize(),
            "capacity": settings.DASHBOARD_AUDIT_QUEUE_SIZE,
            "dropped": self.dropped,
        }
        if recent:
            raise AuditDegraded(
                f"{self.dropped} audit entries dropped, the last "
                f"{time.monotonic() - self.last_drop:.0f} s ago (queue full)"  # type: ignore[operator]
            )
        if self.last_error is not None:
            raise AuditDegraded(f"audit entries cannot be written: {self.last_error}")
        return report

    # --- the writing thread -------------------------------------------------------------------------
    def start(self) -> None:
        entries = self.backlog
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, args=(entries,), name="audit-writer", daemon=True
            )
            self._thread.start()

    def _run(self, entries: queue.Queue) -> None:
        try:
            while True:
                batch, markers, stop = self._take(entries)
                self._write_until_done(batch)
                for marker in markers:
                    marker.done.set()
                if stop:
                    return
        finally:
            connection.close()

    def _take(self, entries: queue.Queue) -> tuple[list[dict], list[_Flush], bool]:
        """The next batch: what comes within DASHBOARD_AUDIT_FLUSH_SECONDS of the first entry,
        up to DASHBOARD_AUDIT_BATCH_SIZE, plus the read tallies that are due."""
        batch: list[dict] = []
        markers: list[_Flush] = []
        limit = settings.DASHBOARD_AUDIT_BATCH_SIZE
        deadline = time.monotonic() + settings.DASHBOARD_AUDIT_FLUSH_SECONDS
        stop = False
        while len(batch) < limit:
            timeout = deadline - time.monotonic()
            try:
                item = (
                    entries.get(timeout=max(0.0, timeout)) if timeout > 0 else entries.get_nowait()
                )
            except queue.Empty:
                break
            if isinstance(item, _Flush):
                markers.append(item)
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        batch.extend(self._due_reads(force=bool(markers) or stop))
        return batch, markers, stop

    def _due_reads(self, force: bool) -> list[dict]:
        now = time.monotonic()
        if not force and now - self._last_reads_flush < settings.DASHBOARD_AUDIT_READ_FLUSH_SECONDS:
            return []
        self._last_reads_flush = now
        return reads.flush_all()

    def _write_until_done(self, batch: list[dict], *, in_thread: bool = True) -> None:
        """Append a batch to the chain. The writer's thread keeps trying while the database is
        away (its connection is its own, closed after a failure); elsewhere (a test's
        transaction, the exit) a few tries, on the caller's connection as it is."""
        attempt = 0
        while batch:
            try:
                if in_thread:
                    close_old_connections()
                written = chain.append(batch)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                attempt += 1
                if (self._stopping or not in_thread) and attempt >= len(RETRY_SECONDS):
                    logger.error("%d audit entries not written: %s", len(batch), self.last_error)
                    return
                logger.warning(
                    "audit batch of %d not written (%s); again in %s s",
                    len(batch),
                    self.last_error,
                    delay,
                )
                if in_thread:
                    connection.close()
                time.sleep(delay)
                continue
            self.last_error = None
            telemetry.audit_written.inc(len(written))
            log_entries(written)
            return

    # --- flushing: tests, exit ----------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far (and every read tally) is written."""
        if self._thread is None or not self._thread.is_alive():
            self.drain()
            return True
        marker = _Flush()
        try:
            self.backlog.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def drain(self) -> int:
        """Write what is queued in this thread (no writing thread running: tests, exit)."""
        batch: list[dict] = []
        while True:
            try:
                item = self.backlog.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, dict):
                batch.append(item)
        batch.extend(reads.flush_all())
        size = settings.DASHBOARD_AUDIT_BATCH_SIZE
        for start in range(0, len(batch), size):
            self._write_until_done(batch[start : start + size], in_thread=False)
        return len(batch)

    def discard(self) -> None:
        """Forget what is queued and every tally (tests)."""
        while True:
            try:
                self.backlog.get_nowait()
            except queue.Empty:
                break
        reads.discard()
        self.dropped, self.last_drop, self.last_error = 0, None, None

    def close(self, timeout: float = 10.0) -> None:
        """At exit: the thread writes what is left, then stops."""
        thread = self._thread
        if self._queue is None or self._pid != os.getpid():
            return
        if thread is None or not thread.is_alive():
            if self.autostart:
                self.drain()
            return
        self._stopping = True
        try:
            self.backlog.put(None, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)


class AuditDegraded(RuntimeError):
    """Entries were dropped lately, or cannot be written."""


def log_entries(written: list) -> None:
    """One JSON line per entry on `dashboard.audit`, for a hospital's log system."""
    if not trail.isEnabledFor(logging.INFO):
        return
    for item in written:
        trail.info(json.dumps(as_record(item), sort_keys=True, ensure_ascii=False))


def as_record(item) -> dict[str, Any]:
    """An entry as exported and logged: every field, times in ISO 8601 UTC."""
    record = {name: getattr(item, name) for name in chain.CONTENT_FIELDS}
    record["time"] = chain.iso(record["time"])
    record.update(seq=item.seq, previousHash=item.previous_hash, hash=item.hash)
    return record


writer = AuditWriter()
atexit.register(writer.close)
