"""Seed time and size of the demo hospital, and the highest change rate `simulate` sustains.

    .venv/bin/python bench/simulator_rate.py [--rate 2000] [--duration 10] [--patients 3000]

Everything runs as the real commands, in subprocesses, on a fresh embedded
store file: `seed_demo` (timed; documents per collection; file size), then
`simulate --rate R --duration D` alone, then again (on a reseeded hospital)
while another process reads the whole change stream. Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def store_size(path: str) -> int:
    return sum(os.path.getsize(name) for name in (path, path + "-wal") if os.path.exists(name))


def seed(env: dict, patients: int, *extra: str) -> dict:
    started = time.perf_counter()
    output = manage(env, "seed_demo", "--seed", "1", "--patients", str(patients), *extra)
    wall = time.perf_counter() - started
    counts = {name: int(count) for name, count in re.findall(r"(\w+) (\d+)(?:,|$)", output)}
    seconds = float(re.search(r"in ([\d.]+) s", output)[1])
    return {
        "seconds_in_command": seconds,
        "seconds_with_startup": round(wall, 2),
        "documents": counts,
        "total": sum(counts.values()),
        "store_bytes": store_size(env["EMBEDDED_STORE_PATH"]),
    }


def simulate(env: dict, rate: float, duration: float) -> dict:
    output = manage(
        env, "simulate", "--rate", str(rate), "--duration", str(duration), "--seed", "1"
    )
    final = re.search(r"simulated (\d+) changes in ([\d.]+) s \(([\d.]+)/s\)", output)
    return {"changes": int(final[1]), "seconds": float(final[2]), "achieved_rate": float(final[3])}


def consume(seconds: float, idle: float) -> None:
    """Read the whole change stream for `seconds` (then until `idle` s pass without a change)."""
    # Run as a script, this file's folder comes first on the path, and its incremental.py would
    # hide the `incremental` package that Twisted imports.
    sys.path[0] = str(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()
    from metrics.store import get_database

    stream = get_database().watch(max_await_time_ms=100)
    print("ready", flush=True)
    kinds: Counter = Counter()
    lags: list[float] = []
    deadline, last = time.monotonic() + seconds, time.monotonic()
    while time.monotonic() < deadline or time.monotonic() - last < idle:
        event = stream.try_next()
        if event is None:
            continue
        last = time.monotonic()
        kinds[event["operationType"]] += 1
        written = event["wallTime"].replace(tzinfo=dt.UTC)
        lags.append((dt.datetime.now(dt.UTC) - written).total_seconds())
    lags.sort()
    print(
        json.dumps(
            {
                "events": sum(kinds.values()),
                "by_operation": dict(kinds),
                "lag_p50_ms": round(1000 * statistics.median(lags), 1) if lags else None,
                "lag_p99_ms": round(1000 * lags[int(len(lags) * 0.99)], 1) if lags else None,
            }
        )
    )


def simulate_with_consumer(env: dict, rate: float, duration: float) -> dict:
    reader = subprocess.Popen(
        [sys.executable, __file__, "--consume", str(duration + 5)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline().strip() == "ready"
    simulated = simulate(env, rate, duration)
    read = json.loads(reader.communicate(timeout=duration + 60)[0])
    return {
        **simulated,
        "consumer": read,
        "consumer_read_everything": read["events"] == simulated["changes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--consume", type=float, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.consume is not None:
        consume(options.consume, idle=3.0)
        return
    with tempfile.TemporaryDirectory() as directory:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MONGODB_")}
        env.update(
            EMBEDDED_STORE_PATH=str(Path(directory) / "hospital.sqlite3"), PYTHONUNBUFFERED="1"
        )
        report = {
            "seed": seed(env, options.patients),
            "simulate": simulate(env, options.rate, options.duration),
        }
        seed(env, options.patients, "--reset")
        report["simulate_with_consumer"] = simulate_with_consumer(
            env, options.rate, options.duration
        )
        report["asked"] = {"rate": options.rate, "duration": options.duration}
        report["cpus"] = os.cpu_count()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
