"""Helpers for the store contract suite: reading change streams with a deadline, a second process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from embedded_mongo.client import EmbeddedDatabase

MONGODB_TEST_URI = os.environ.get("MONGODB_TEST_URI")
REPO = Path(__file__).resolve().parents[2]
AWAIT_MS = 100  # max_await_time_ms for the streams in this suite


def next_events(stream: Any, count: int, timeout: float = 10.0) -> list[dict]:
    """Exactly `count` events from `stream`, failing after `timeout` seconds."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        event = stream.try_next()
        if event is not None:
            events.append(event)
    assert len(events) == count, f"expected {count} events, got {len(events)}: {events}"
    return events


def drain(stream: Any, quiet: float = 0.5) -> list[dict]:
    """Every event until the stream stays quiet for `quiet` seconds."""
    events: list[dict] = []
    deadline = time.monotonic() + quiet
    while time.monotonic() < deadline:
        event = stream.try_next()
        if event is not None:
            events.append(event)
            deadline = time.monotonic() + quiet
    return events


def summary(events: list[dict]) -> list[tuple[str, Any]]:
    """(operationType, documentKey _id) per event: what 'every change seen once' compares."""
    return [(event["operationType"], event.get("documentKey", {}).get("_id")) for event in events]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def in_other_process(db: Any, *command: str) -> dict:
    """Run tests/store/writer.py against the same store (file or server) and return its JSON line."""
    return result_of(start_other_process(db, *command))


def start_other_process(db: Any, *command: str) -> subprocess.Popen:
    """Start tests/store/writer.py on the same store; collect it with result_of()."""
    if isinstance(db, EmbeddedDatabase):
        backend = ["embedded", db.client.path, db.name]
    else:
        backend = ["mongodb", MONGODB_TEST_URI, db.name]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.writer", *backend, *command],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def result_of(process: subprocess.Popen) -> dict:
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return json.loads(output)
