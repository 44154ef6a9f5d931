"""Incremental metrics against today's full recompute, at several hospital sizes.

    .venv/bin/python -m bench.incremental --sizes 10000,1000000 [--changes 20000] [--batch 100]

First a stream of simulated changes is recorded once: the demo hospital
(800 patients, about 3,400 documents) is written into a fresh embedded
store and the simulator's own events (admissions, discharges, payments,
shifts, emergencies, soft and hard deletes...) run on it flat out on a
simulated clock (50 ms a step), while the store's change stream (updateLookup)
is read after each event, as the listener reads it.

Then, for each size, a child process of its own loads a fresh store: the
same demo hospital (same ids) plus documents of the metrics benchmark's big
hospital (bench/metrics_bench.py) up to the size, inserted with insert_many.
It measures:

- rebuild_s: building the listener's incremental state (one projected scan
  per collection);
- changes_per_s, cpu_us_per_change: the listener's incremental path alone on
  one core, on the whole recorded stream: each change folded into the state,
  and every --batch changes each metric it moved built from the state and
  stored in the cache layers (L1 and local-memory L2), as a flush does; the
  broadcast itself is left out (it costs the same either way);
- recompute_cpu_us_per_change: today's recompute path on the same stream with
  the same batches (each batch's writes applied to the store untimed, then
  refresh_live_value for every metric its collections feed), on the first
  batches until --recompute-budget CPU seconds are spent;
- shadow_bytes_per_doc: the state's memory (shadow and groups) per document
  of the store, and per shadowed document;
- verified: after every write of the stream is applied to the store, each
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
STEP = dt.timedelta(milliseconds=50)
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
        default=60.0,
        help="CPU seconds of the recompute path measured per size (whole batches, at least one)",
    )
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON lines")
    parser.add_argument("--record", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stream", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.record is not None:
        return in_fresh_store(lambda: record(args.changes, Path(args.record)))
    if args.child is not None:
        return in_fresh_store(lambda: print(json.dumps(measure(args.child, args))))
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    with tempfile.TemporaryDirectory(prefix="incremental-bench-") as directory:
        stream = Path(directory) / "stream.pickle"
        started = time.perf_counter()
        child(
            [
                *(sys.executable, "-m", "bench.incremental", "--record", str(stream)),
                *("--changes", str(args.changes)),
            ],
            args,
        )
        print(f"stream recorded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        lines = []
        for size in sizes:
            started = time.perf_counter()
            output = child(
                [
                    *(sys.executable, "-m", "bench.incremental", "--child", str(size)),
                    *("--stream", str(stream), "--batch", str(args.batch)),
                    *("--recompute-budget", str(args.recompute_budget)),
                ],
                args,
            )
            line = json.loads(output.strip().splitlines()[-1])
            line["wall_s"] = round(time.perf_counter() - started, 1)
            print(json.dumps(line), flush=True)
            lines.append(line)
    output_path = Path(args.output)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return 0


def child(command: list[str], args: argparse.Namespace) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return done.stdout


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
def record(changes: int, path: Path) -> None:
    """Run the simulator on the demo hospital and keep the change events it causes."""
    from django.utils import timezone

    from metrics.incremental import METRIC_OF
    from metrics.store import get_database
    from simulator.activity import EVENTS
    from simulator.seed import generate, write_documents

    db = get_database()
    now = timezone.now().replace(microsecond=0)
    write_documents(db, generate(SEED, PATIENTS, now=now))
    stream = db.watch(
        [{"$match": {"ns.coll": {"$in": sorted(METRIC_OF)}}}],
        full_document="updateLookup",
        max_await_time_ms=0,
    )
    rng = random.Random(SEED)
    kinds = list(EVENTS)
    weights = [weight for _, weight in EVENTS.values()]
    events: list[dict] = []
    moment = now
    while len(events) < changes:
        moment += STEP
        EVENTS[rng.choices(kinds, weights)[0]][0](db, rng, moment)
        while (event := stream.try_next()) is not None:
            events.append(event)
    path.write_bytes(pickle.dumps({"now": now, "events": events[:changes]}))


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


def measure(size: int, args: argparse.Namespace) -> dict:
    import psutil
    from django.utils import timezone

    from live.pipeline import critical_first, store_built
    from metrics.catalogue import LIVE_METRICS
    from metrics.compute import compute_base
    from metrics.incremental import IncrementalMetrics
    from metrics.store import get_database

    recorded = pickle.loads(Path(args.stream).read_bytes())
    events = recorded["events"]
    db = get_database()
    fill_s = fill(db, size, recorded["now"])
    documents = sum(db[name].estimated_document_count() for name in db.list_collection_names())

    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    state = IncrementalMetrics.build(db, timezone.now())
    rebuild_s = time.perf_counter() - started
    rss_after = process.memory_info().rss
    memory = state.memory()
    shadowed = sum(entries for entries, _, _ in memory.values())
    shadow_bytes = sum(size_ for _, size_, _ in memory.values())

    # The incremental path: fold every change, build what moved every `batch` changes.
    wall, cpu = time.perf_counter(), time.process_time()
    dirty: set[str] = set()
    for index, event in enumerate(events, 1):
        dirty.update(state.apply(event))
        if index % args.batch == 0 or index == len(events):
            for metric in critical_first(dirty):
                store_built(metric, state.base)
            dirty.clear()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall

    recompute_cpu, recomputed_changes, position = recompute(db, events, args)
    for event in events[position:]:
        apply_write(db, event)
    moment = timezone.now()
    verified = {
        metric: state.base(metric, moment) == compute_base(metric, now=moment)
        for metric in LIVE_METRICS
    }
    return {
        "size": size,
        "documents": documents,
        "changes": len(events),
        "changes_per_s": round(len(events) / wall),
        "cpu_us_per_change": round(cpu / len(events) * 1e6, 1),
        "rebuild_s": round(rebuild_s, 2),
        "shadow_bytes_per_doc": round(shadow_bytes / documents, 1),
        "shadow_bytes_per_shadowed_doc": round(shadow_bytes / shadowed, 1),
        "shadowed_documents": shadowed,
        "shadow_mib": round(shadow_bytes / 2**20, 1),
        "state_rss_mib": round((rss_after - rss_before) / 2**20, 1),
        "recompute_cpu_us_per_change": round(recompute_cpu / recomputed_changes * 1e6, 1),
        "recompute_sample_changes": recomputed_changes,
        "ratio": round(recompute_cpu / recomputed_changes / (cpu / len(events)), 1),
        "verified": all(verified.values()),
        "fill_s": round(fill_s, 1),
        "python": platform.python_version(),
        "batch": args.batch,
    }


def recompute(db, events: list[dict], args: argparse.Namespace) -> tuple[float, int, int]:
    """Today's path on the first batches: (CPU seconds, changes covered, writes applied)."""
    from live.pipeline import critical_first
    from metrics.catalogue import metrics_reading
    from metrics.service import refresh_live_value

    spent, position = 0.0, 0
    while position < len(events) and (position == 0 or spent < args.recompute_budget):
        batch = events[position : position + args.batch]
        for event in batch:
            apply_write(db, event)
        dirty = {metric for event in batch for metric in metrics_reading(event["ns"]["coll"])}
        cpu = time.process_time()
        for metric in critical_first(dirty):
            refresh_live_value(metric)
        spent += time.process_time() - cpu
        position += len(batch)
    return spent, position, position


if __name__ == "__main__":
    sys.exit(main())
