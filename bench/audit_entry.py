"""What one audit entry costs: on the caller's path (queued), and to write (in batches).

    .venv/bin/python -m bench.audit_entry [--entries 20000] [--database-url URL]

In this process, on a fresh database (a temporary SQLite file, or `--database-url`, which
must be empty or migratable), with the settings' defaults:

- **record**: `audit.events.record()` of a socket event (actor, address, user agent, detail),
  the writer's thread not running: building the entry and putting it on the queue, which is
  all a request or a socket pays;
- **tally**: `audit.events.count_read()`, a read counted in its session's tally;
- **write**: `audit.chain.append()` of batches of DASHBOARD_AUDIT_BATCH_SIZE entries (hashing,
  the bulk insert and the head row, one transaction each), per entry;
- **verify**: `audit.chain.verify()` over everything written, per entry.

Prints JSON and writes it to bench/results/audit-entry.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def per_entry_us(seconds: float, count: int) -> float:
    return round(seconds / count * 1e6, 2)


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_entry")
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    options = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard_project.settings",
            "DJANGO_DEBUG": "true",
            "DASHBOARD_VAR_DIR": str(workdir),
            "DATABASE_URL": options.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
            "DASHBOARD_AUDIT_QUEUE_SIZE": str(options.entries + 1),
            "DASHBOARD_AUDIT_LOG": "false",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from audit import chain, events
    from audit.entries import Actor, Where
    from audit.writer import writer

    call_command("migrate", verbosity=0)
    writer.autostart = False
    count = options.entries
    actor = Actor(user_id=2, username="admin", level="admin", departments="CARD,ER")
    where = Where("203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0", "socket")

    started = time.perf_counter()
    for number in range(count):
        events.record("session_opened", "success", actor, where, session=f"{number:016x}")
    record_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for number in range(count):
        events.count_read(f"s{number % 100}", "subscription", "patientCount", actor, where)
    tally_seconds = time.perf_counter() - started

    queued = []
    while not writer.backlog.empty():
        queued.append(writer.backlog.get_nowait())
    size = settings.DASHBOARD_AUDIT_BATCH_SIZE
    started = time.perf_counter()
    for start in range(0, len(queued), size):
        chain.append(queued[start : start + size])
    write_seconds = time.perf_counter() - started

    started = time.perf_counter()
    verdict = chain.verify()
    verify_seconds = time.perf_counter() - started
    assert verdict.ok and verdict.checked == count, verdict

    result = {
        "entries": count,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "batchSize": size,
        "recordUs": per_entry_us(record_seconds, count),
        "tallyUs": per_entry_us(tally_seconds, count),
        "writeUs": per_entry_us(write_seconds, count),
        "verifyUs": per_entry_us(verify_seconds, count),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit-entry.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
