"""Metric computation and cache reads against the embedded store, at several data sizes.

    .venv/bin/python -m bench.metrics_bench --sizes 10000,100000,1000000 [--runs 3] [--redis URL]

For each size a fresh store file (in a temporary directory) is filled with N
documents spread over the hospital collections, in a child process of its
own. Measured per metric: a cold computation straight from the store (median
of --runs, fewer once --budget seconds are spent), a warm L1 read and a warm
L2 read (medians of many reads; the cache clock is frozen while reading so
nothing expires mid-measurement). Prints JSON and writes
bench/results/metrics.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "metrics.json"
SHARES = {
    "patients": 0.30,
    "appointments": 0.25,
    "bills": 0.20,
    "workflows": 0.10,
    "staff": 0.08,
    "rooms": 0.07,
}
CODES = ["ER", "CARD", "NEURO", "PED", "ORTH", "ONC", "RAD", "ICU"]
BATCH = 5_000


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.metrics_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated document counts")
    parser.add_argument("--runs", type=int, default=3, help="cold computations per metric (median)")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="stop repeating a cold computation once its runs took this many seconds",
    )
    parser.add_argument("--reads", type=int, default=500, help="warm reads per layer (median)")
    parser.add_argument(
        "--redis", default=None, help="use this Redis as L2 instead of local memory"
    )
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON report")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.child is not None:
        tmp = tempfile.mkdtemp(prefix="metrics-bench-")
        try:
            print(json.dumps(measure(args.child, args, tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    report = {"environment": environment(args), "sizes": {}}
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        command = [
            sys.executable,
            "-m",
            "bench.metrics_bench",
            "--child",
            str(size),
            "--runs",
            str(args.runs),
            "--reads",
            str(args.reads),
            "--budget",
            str(args.budget),
        ]
        if args.redis:
            command += ["--redis", args.redis]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wallSeconds"] = round(time.perf_counter() - started, 1)
        report["sizes"][str(size)] = result
        print(f"{size:>9} documents: done in {result['wallSeconds']} s", file=sys.stderr)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def environment(args: argparse.Namespace) -> dict:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "l2": "redis" if args.redis else "locmem",
        "store": "embedded",
        "runs": args.runs,
        "reads": args.reads,
        "budgetSeconds": args.budget,
    }


def setup(tmp: str, redis_url: str | None) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard_project.settings",
            "DASHBOARD_VAR_DIR": tmp,
            "EMBEDDED_STORE_PATH": os.path.join(tmp, "hospital.sqlite3"),
            "DATABASE_URL": f"sqlite:///{os.path.join(tmp, 'dashboard.sqlite3')}",
            "DASHBOARD_LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("MONGODB_URI", None)
    if redis_url:
        os.environ.update(
            {"REDIS_URL": redis_url, "DASHBOARD_CACHE_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"}
        )
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(db, size: int, now, rng: random.Random) -> dict[str, int]:
    """N documents: a month of patients, appointments three days either side, a week of bills."""
    import datetime as dt

    def when(days_back: float, days_ahead: float = 0.0):
        return now + dt.timedelta(seconds=rng.uniform(-days_back * 86_400, days_ahead * 86_400))

    def common() -> dict:
        return {"isActive": rng.random() < 0.97, "departmentId": rng.choice(CODES)}

    def room(i: int) -> dict:
        capacity = rng.randint(1, 6)
        return {
            **common(),
            "number": str(i),
            "capacity": capacity,
            "occupiedBeds": rng.randint(0, capacity),
            "type": rng.choice(["ward", "icu", "er", "or", "consult"]),
            "status": rng.choice(["available", "occupied", "cleaning", "maintenance"]),
        }

    makers = {
        "patients": lambda i: {
            **common(),
            "mrn": f"MRN{i:08d}",
            "name": f"Patient {i}",
            "status": rng.choice(["admitted", "outpatient", "discharged"]),
            "triageLevel": rng.randint(1, 5),
            "registeredAt": when(30),
        },
        "appointments": lambda i: {
            **common(),
            "patientId": f"p{i}",
            "staffId": f"s{i % 500}",
            "scheduledAt": when(3, 3),
            "status": rng.choice(["scheduled", "checked_in", "completed", "cancelled", "no_show"]),
        },
        "bills": lambda i: {
            **common(),
            "patientId": f"p{i}",
            "amountCents": rng.randint(500, 500_000),
            "currency": "USD",
            "createdAt": when(7),
            **(
                {"status": "paid", "paidAt": when(7)}
                if rng.random() < 0.6
                else {"status": rng.choice(["pending", "void"])}
            ),
        },
        "workflows": lambda i: {
            **common(),
            "patientId": f"p{i}",
            "startedAt": when(7),
            "priority": rng.choice(["normal", "normal", "urgent", "emergency"]),
            "stage": rng.choice(["triage", "consultation", "diagnostics", "treatment"]),
            **({"resolvedAt": when(1)} if rng.random() < 0.9 else {}),
        },
        "staff": lambda i: {
            **common(),
            "name": f"Staff {i}",
            "role": rng.choice(["doctor", "nurse", "technician", "admin"]),
            "status": rng.choice(["on_duty", "off_duty", "on_break"]),
        },
        "rooms": room,
    }
    db.departments.insert_many([{"_id": code, "name": code, "isActive": True} for code in CODES])
    counts = {}
    for name, share in SHARES.items():
        count = int(size * share)
        for offset in range(0, count, BATCH):
            db[name].insert_many(
                [makers[name](i) for i in range(offset, min(offset + BATCH, count))]
            )
        counts[name] = count
    return counts


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 4)


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure(size: int, args: argparse.Namespace, tmp: str) -> dict:
    setup(tmp, args.redis)
    import datetime as dt

    from django.core.cache import cache as l2
    from django.utils import timezone

    from accounts.policy import Access
    from metrics import cache
    from metrics.catalogue import LIVE_METRICS, METRICS
    from metrics.compute import compute_base, compute_historical
    from metrics.scope import Scope
    from metrics.selectors import get_historical, get_live_value
    from metrics.store import get_database
    from metrics.timerange import whole_hours
    from metrics.values import MetricValue
    from metrics.versions import position_now

    db = get_database()
    now = timezone.now()
    started = time.perf_counter()
    documents = fill(db, size, now, random.Random(size))
    fill_seconds = time.perf_counter() - started
    everyone, two = Scope.all(), Scope.of(["ER", "CARD"])
    access = Access(user_id=1, username="bench", level="super_admin", departments=frozenset())

    def cold(compute) -> tuple[dict, object]:
        """Median time of up to --runs computations (fewer once --budget is spent), and a result."""
        times, result = [], None
        for _ in range(args.runs):
            began = time.perf_counter()
            result = compute()
            times.append(time.perf_counter() - began)
            if sum(times) > args.budget:
                break
        return {"coldMs": median_ms(times), "coldRuns": len(times)}, result

    def warm(read, fill_cache) -> dict:
        """Median L1 and L2 read times of `read` once `fill_cache` cached the value."""
        cache.clear_local()
        l2.clear()
        fill_cache()
        frozen = time.time()
        real_clock, cache.layers.clock = cache.layers.clock, (lambda: frozen)
        try:
            l1 = [timed(read) for _ in range(args.reads)]
            l2_times = []
            for _ in range(max(50, args.reads // 5)):
                cache.clear_local()
                l2_times.append(timed(read))
        finally:
            cache.layers.clock = real_clock
        return {"l1Ms": median_ms(l1), "l2Ms": median_ms(l2_times)}

    def live(metric: str) -> dict:
        timing, base = cold(lambda: compute_base(metric))
        value = MetricValue(metric, base, position_now(db), timezone.now())
        return {
            **timing,
            **warm(lambda: get_live_value(metric, everyone), lambda: cache.store(value)),
            "l1ScopedMs": warm(lambda: get_live_value(metric, two), lambda: cache.store(value))[
                "l1Ms"
            ],
            "baseBytes": len(json.dumps(base)),
        }

    def historical(hours: int) -> dict:
        start, end = whole_hours(now - dt.timedelta(hours=hours), now)
        timing, data = cold(lambda: compute_historical(start, end, everyone))
        value = MetricValue("historical", data, position_now(db), timezone.now())
        key = cache.historical_key(everyone.key, start, end)
        return {
            **timing,
            **warm(
                lambda: get_historical(access, start, end),
                lambda: cache.read_through(
                    key,
                    METRICS["hourlyStats"].ttl,
                    lambda: value,
                    keep_last_known=False,
                    metrics=["hourlyStats"],
                ),
            ),
        }

    results = {metric: live(metric) for metric in LIVE_METRICS}
    results["historical24h"] = historical(24)
    results["historical7d"] = historical(24 * 7)
    if args.redis:
        cache.invalidate_pattern("*")  # the run's keys, last known copies included
    return {"documents": documents, "fillSeconds": round(fill_seconds, 2), "metrics": results}


if __name__ == "__main__":
    sys.exit(main())
