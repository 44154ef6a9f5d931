"""The highest change rate the listener keeps up with on the embedded store, before its lag grows.

    .venv/bin/python -m bench.listener_rate [--rates 5,10,20,40,80] [--duration 20]

Real commands in subprocesses on a fresh embedded store and database:
`seed_demo`, then `watch_changes` (one listener, the default batch of 100
changes or 1 s), then `simulate --rate R --duration D` for each rate in turn.
The listener's own log line per flush gives its lag: the age of the oldest
change in the flush when its metrics have been broadcast. A rate is kept up
with when, over the second half of its run, the 95th percentile of that lag
stays under `--lag-limit` seconds and every simulated change was processed.
Prints JSON and writes it to bench/results/listener-rate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.simulator_rate import ROOT, manage, simulate

BATCH_LINE = re.compile(
    r"batch \((?P<kind>\w+)\): (?P<changes>\d+) changes .* lag (?:(?P<lag>\d+) ms|unknown)"
)


class ListenerLog:
    """Collects the listener's flush lines, stamped with when they were read."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.flushes: list[dict] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(process.stderr,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            match = BATCH_LINE.search(line)
            if match:
                with self._lock:
                    self.flushes.append(
                        {
                            "at": time.monotonic(),
                            "kind": match["kind"],
                            "changes": int(match["changes"]),
                            "lag": None if match["lag"] is None else int(match["lag"]) / 1000,
                        }
                    )

    def since(self, moment: float) -> list[dict]:
        with self._lock:
            return [flush for flush in self.flushes if flush["at"] >= moment]

    def last_at(self) -> float:
        with self._lock:
            return self.flushes[-1]["at"] if self.flushes else 0.0


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))], 3)


def run_rate(env: dict, log: ListenerLog, rate: float, duration: float, lag_limit: float) -> dict:
    started = time.monotonic()
    simulated = simulate(env, rate, duration)
    ended = time.monotonic()
    changes = simulated["changes"]
    # Let the listener drain: done once it has processed every change, or 30 s have passed.
    while time.monotonic() - ended < 30:
        if sum(flush["changes"] for flush in log.since(started)) >= changes:
            break
        time.sleep(0.2)
    flushes = log.since(started)
    processed = sum(flush["changes"] for flush in flushes)
    middle = started + (ended - started) / 2
    late = [
        flush["lag"]
        for flush in flushes
        if middle <= flush["at"] <= ended and flush["lag"] is not None
    ]
    late_critical = [
        lag
        for flush, lag in ((f, f["lag"]) for f in flushes)
        if middle <= flush["at"] <= ended and flush["kind"] == "critical" and lag is not None
    ]
    p95 = percentile(late, 0.95)
    return {
        "rate": rate,
        "achieved_rate": simulated["achieved_rate"],
        "changes": changes,
        "processed": processed,
        "flushes": len(flushes),
        "changes_per_flush": round(processed / len(flushes), 1) if flushes else None,
        "lag_p50_s": percentile(late, 0.5),
        "lag_p95_s": p95,
        "critical_lag_p50_s": percentile(late_critical, 0.5),
        "critical_lag_p95_s": percentile(late_critical, 0.95),
        "drain_s": round(max(0.0, log.last_at() - ended), 2),
        "kept_up": processed >= changes and p95 is not None and p95 <= lag_limit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="5,10,20,40,80")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument(
        "--lag-limit",
        type=float,
        default=2.0,
        help="seconds of p95 lag still counted as keeping up (twice the window)",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "listener-rate.json"))
    options = parser.parse_args()
    rates = [float(rate) for rate in options.rates.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MONGODB_", "REDIS_"))
        }
        env.update(
            EMBEDDED_STORE_PATH=str(Path(directory) / "hospital.sqlite3"),
            DATABASE_URL=f"sqlite:///{directory}/dashboard.sqlite3",
            DASHBOARD_LOG_LEVEL="DEBUG",  # a line per flush (INFO: one every 30 s)
            PYTHONUNBUFFERED="1",
        )
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo", "--seed", "1", "--patients", str(options.patients))
        listener = subprocess.Popen(
            [sys.executable, "manage.py", "watch_changes"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            log = ListenerLog(listener)
            time.sleep(5)  # the first full resync
            steps = []
            for rate in rates:
                step = run_rate(env, log, rate, options.duration, options.lag_limit)
                print(json.dumps(step), file=sys.stderr, flush=True)
                steps.append(step)
        finally:
            listener.terminate()
            listener.wait(timeout=30)
    kept = [step["rate"] for step in steps if step["kept_up"]]
    report = {
        "steps": steps,
        "highest_rate_kept_up": max(kept) if kept else None,
        "lag_limit_s": options.lag_limit,
        "duration_s": options.duration,
        "cpus": os.cpu_count(),
    }
    Path(options.output).parent.mkdir(parents=True, exist_ok=True)
    Path(options.output).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
