"""Incremental metrics against today's full recompute, at several hospital sizes.

    .venv/bin/python -m bench.incremental --sizes 10000,1000000 [--changes 20000] [--batch 100]

A stream of simulated changes is recorded once: the demo hospital (800
patients, about 3,400 documents) is written into a fresh embedded store and
the simulator runs on it (its hospital day: admissions, discharges,
payments, shifts, emergencies, soft and hard deletes..., and routine record
keeping) at 50 changes a second of a simulated clock, the store's change
stream (updateLookup) being read every simulated second, as the listener
reads it.

Each size has a child process of its own, started at once: it loads a fresh
store with the same demo hospital (same ids) plus documents of the metrics
benchmark's big hospital (bench/metrics_bench.py: half of them count in a
live metric) up to the size, with insert_many; then, one size at a time once
the stream is recorded, it measures:

- rebuild_s: building the listener's incremental state (one projected scan
  per collection);
- changes_per_s, cpu_us_per_change: the listener's incremental path on one
  core, on the whole stream: each change folded into the state, and every
  --batch changes each metric it moved built from the state and stored in the
  cache layers (L1 and local-memory L2), as a flush does (the broadcast costs
  the same either way and is left out). This runs in a process of its own
  that holds the state and nothing else, as a listener on MongoDB does: the
  embedded store keeps every document in the memory of the process that
  opens it;
- recompute_cpu_us_per_change: today's recompute path on the same stream with
  the same batches (each batch's writes applied to the store untimed, then
  refresh_live_value for every metric its collections feed), on the first
  batches until --recompute-budget CPU seconds are spent;
- shadow_bytes_per_doc: the state's memory (shadow and groups) per document
  of the store, per shadowed document, and the replay process's resident
  memory grown by loading the state (state_rss_mib);
- verified: once every write of the stream is applied to the store, each
  metric built from the state equals compute_base.

Prints one JSON line per size and writes them to bench/results/incremental.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "incremental.json"
PATIENTS = 800
SEED = 1
RATE = 50.0  # simulated changes per simulated second
CHUNK = 5_000


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.incremental", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated document counts")
    parser.add_argument("--changes", type=int, default=20_000, help="changes in the stream")
    parser.add_argument("--batch", type=int, default=100, help="changes per flush (both paths)")
    parser.add_argument(
        "--recompute-budget",
        type=float,
        default=30.0,
        help="CPU seconds of the recompute path measured per size (whole batches, at least one)",
    )
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON lines")
    for internal in ("--record", "--child", "--replay", "--stream", "--go", "--now"):
        parser.add_argument(internal, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.record is not None:
        now = dt.datetime.fromisoformat(args.now)
        return in_fresh_store(lambda: record(args.changes, Path(args.record), now))
    if args.child is not None:
        return in_fresh_store(lambda: print(json.dumps(measure(int(args.child), args))))
    if args.replay is not None:
        return in_fresh_store(lambda: print(json.dumps(replay(args))))
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    with tempfile.TemporaryDirectory(prefix="incremental-bench-") as directory:
        here = Path(directory)
        stream = here / "stream.pickle"
        # The demo hospital's moment: its ids (and so the stream's) depend on it.
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        started = time.perf_counter()
        recorder = start("--record", str(stream), "--changes", str(args.changes), "--now", now)
        # Every size fills its store meanwhile, then waits for its turn to measure.
        children = [
            start(
                *("--child", str(size), "--stream", str(stream), "--go", str(here / f"go-{size}")),
                *("--batch", str(args.batch), "--recompute-budget", str(args.recompute_budget)),
                *("--now", now),
            )
            for size in sizes
        ]
        finish(recorder)
        print(f"stream recorded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        lines = []
        for size, process in zip(sizes, children, strict=True):
            started = time.perf_counter()
            (here / f"go-{size}").touch()
            line = json.loads(finish(process).strip().splitlines()[-1])
            line["measure_s"] = round(time.perf_counter() - started, 1)
            print(json.dumps(line), flush=True)
            lines.append(line)
    output_path = Path(args.output)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return 0


def start(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.incremental", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate()
    if process.returncode != 0:
        sys.stderr.write(err)
        raise SystemExit(process.returncode)
    return out


def in_fresh_store(work) -> int:
    """Run `work` with Django set up on a new embedded store and database in a temporary directory."""
    tmp = tempfile.mkdtemp(prefix="incremental-bench-")
    try:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "dashboard_project.settings",
                "DASHBOARD_VAR_DIR": tmp,
                "EMBEDDED_STORE_PATH": os.path.join(tmp, "hospital.sqlite3"),
                "DATABASE_URL": f"sqlite:///{os.path.join(tmp, 'dashboard.sqlite3')}",
                "DASHBOARD_LOG_LEVEL": "ERROR",
                "TIME_ZONE": "UTC",
            }
        )
        for name in ("MONGODB_URI", "REDIS_URL"):
            os.environ.pop(name, None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        work()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the stream ---------------------------------------------------------------------------------------
def record(changes: int, path: Path, now: dt.datetime) -> None:
    """Run the simulator (its hospital day and routine record keeping, on a simulated clock) on
    the demo hospital and keep the change events it causes."""
    import threading

    from metrics.incremental import readers
    from metrics.store import get_database
    from simulator.clock import SimulatedClock
    from simulator.runner import run
    from simulator.seed import generate, write_documents

    db = get_database()
    write_documents(db, generate(SEED, PATIENTS, now=now))
    stream = db.watch(
        [{"$match": {"ns.coll": {"$in": sorted(readers())}}}],
        full_document="updateLookup",
        max_await_time_ms=0,
    )
    events: list[dict] = []
    stop = threading.Event()

    def drain(_stretch) -> None:
        while (event := stream.try_next()) is not None:
            events.append(event)
        if len(events) >= changes:
            stop.set()

    # The stream is read every simulated second, as the listener reads it (updateLookup then).
    run(
        db, rate=RATE, seed=SEED, stop=stop, clock=SimulatedClock(now), report=drain, report_every=1
    )
    drain(None)
    written = path.with_suffix(".part")
    written.write_bytes(pickle.dumps(events[:changes]))
    written.rename(path)


def apply_write(db, event: dict) -> None:
    """Make the store what the event says (its document as read, or gone)."""
    collection = db[event["ns"]["coll"]]
    key = event["documentKey"]
    document = event.get("fullDocument")
    if event["operationType"] == "delete" or document is None:
        collection.delete_one(key)
    elif event["operationType"] == "insert":
        collection.insert_one(dict(document))
    else:
        collection.replace_one(key, {k: v for k, v in document.items() if k != "_id"}, upsert=True)


# --- one size ---------------------------------------------------------------------------------------
def fill(db, size: int, now: dt.datetime) -> float:
    """The demo hospital (the stream's ids) plus the metrics benchmark's documents up to `size`."""
    from bench import metrics_bench
    from simulator.seed import generate

    started = time.perf_counter()
    hospital = generate(SEED, PATIENTS, now=now)
    hospital.pop("departments")  # the metrics benchmark writes its own (no live metric reads them)
    for name, documents in hospital.items():
        for offset in range(0, len(documents), CHUNK):
            db[name].insert_many(documents[offset : offset + CHUNK])
    seeded = sum(len(documents) for documents in hospital.values())
    metrics_bench.fill(db, max(0, size - seeded), now, random.Random(size))
    return time.perf_counter() - started


def wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.2)


def measure(size: int, args: argparse.Namespace) -> dict:
    from django.utils import timezone

    from metrics.catalogue import LIVE_METRICS
    from metrics.compute import compute_base
    from metrics.incremental import IncrementalMetrics
    from metrics.store import get_database

    db = get_database()
    fill_s = fill(db, size, dt.datetime.fromisoformat(args.now))
    documents = sum(db[name].estimated_document_count() for name in db.list_collection_names())
    wait_for(Path(args.go))  # the stream is recorded, and the size before this one measured
    stream = Path(args.stream)
    events = pickle.loads(stream.read_bytes())

    started = time.perf_counter()
    state = IncrementalMetrics.build(db, timezone.now())
    rebuild_s = time.perf_counter() - started
    memory = state.memory()
    shadowed = sum(entries for entries, _, _ in memory.values())
    shadow_bytes = sum(size_ for _, size_, _ in memory.values())

    saved = stream.with_name(f"state-{size}.pickle")
    saved.write_bytes(pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
    incremental = json.loads(
        finish(
            start(
                *("--replay", str(saved), "--stream", str(stream), "--batch", str(args.batch)),
            )
        )
        .strip()
        .splitlines()[-1]
    )

    recompute_cpu, recomputed = recompute(db, events, args)
    for event in events[recomputed:]:
        apply_write(db, event)
    for event in events:  # the same folds as the replay, for the comparison
        state.apply(event)
    moment = timezone.now()
    verified = all(
        state.base(metric, moment) == compute_base(metric, now=moment) for metric in LIVE_METRICS
    )
    per_change = incremental["cpu_us_per_change"]
    return {
        "size": size,
        "documents": documents,
        "changes": len(events),
        "changes_per_s": incremental["changes_per_s"],
        "cpu_us_per_change": per_change,
        "rebuild_s": round(rebuild_s, 2),
        "shadow_bytes_per_doc": round(shadow_bytes / documents, 1),
        "shadow_bytes_per_shadowed_doc": round(shadow_bytes / shadowed, 1),
        "shadowed_documents": shadowed,
        "shadow_mib": round(shadow_bytes / 2**20, 1),
        "state_rss_mib": incremental["state_rss_mib"],
        "recompute_cpu_us_per_change": round(recompute_cpu / recomputed * 1e6, 1),
        "recompute_sample_changes": recomputed,
        "recompute_ratio": round(recompute_cpu / recomputed * 1e6 / per_change, 1),
        "build_us_by_metric": incremental["build_us_by_metric"],
        "fold_us_per_change": incremental["fold_us_per_change"],
        "verified": verified,
        "fill_s": round(fill_s, 1),
        "batch": args.batch,
        "python": platform.python_version(),
    }


def replay(args: argparse.Namespace) -> dict:
    """The incremental path alone, in this process: fold each change, flush every batch."""
    import psutil

    from live.stream.pipeline import critical_first, store_built
    from metrics.versions import version_of

    events = pickle.loads(Path(args.stream).read_bytes())
    before = psutil.Process().memory_info().rss
    state = pickle.loads(Path(args.replay).read_bytes())
    grown = psutil.Process().memory_info().rss - before
    batch = int(args.batch)
    builds: dict[str, list[float]] = {}
    fold_cpu = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    dirty: set[str] = set()
    position = 0
    for index, event in enumerate(events, 1):
        began = time.process_time()
        dirty.update(state.apply(event))
        position = max(position, version_of(event["clusterTime"]))
        fold_cpu += time.process_time() - began
        if index % batch == 0 or index == len(events):
            for metric in critical_first(dirty):
                began = time.process_time()
                store_built(metric, state.base, position)
                builds.setdefault(metric, []).append(time.process_time() - began)
            dirty.clear()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    return {
        "changes_per_s": round(len(events) / wall),
        "cpu_us_per_change": round(cpu / len(events) * 1e6, 1),
        "fold_us_per_change": round(fold_cpu / len(events) * 1e6, 1),
        "build_us_by_metric": {
            metric: round(sum(times) / len(times) * 1e6) for metric, times in builds.items()
        },
        "state_rss_mib": round(grown / 2**20, 1),
    }


def recompute(db, events: list[dict], args: argparse.Namespace) -> tuple[float, int]:
    """Today's path on the first batches: (CPU seconds, changes covered, their writes applied)."""
    from live.stream.pipeline import critical_first
    from metrics.catalogue import metrics_reading
    from metrics.selectors import refresh_live_value

    spent, position, batch = 0.0, 0, int(args.batch)
    while position < len(events) and (position == 0 or spent < float(args.recompute_budget)):
        chunk = events[position : position + batch]
        for event in chunk:
            apply_write(db, event)
        dirty = {metric for event in chunk for metric in metrics_reading(event["ns"]["coll"])}
        cpu = time.process_time()
        for metric in critical_first(dirty):
            refresh_live_value(metric)
        spent += time.process_time() - cpu
        position += len(chunk)
    return spent, position


if __name__ == "__main__":
    sys.exit(main())
