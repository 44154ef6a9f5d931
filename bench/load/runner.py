"""One benchmark run, start to finish: the stack, the load, the fan-out comparison, the report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import signal
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from .config import Settings
from .dashboard_load import load_phase
from .fanout import fanout_comparison
from .procs import ROOT, Children
from .report import plot, summary_lines, write_json
from .sampler import Sampler
from .stack import Stack

RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _terminate(signum, frame):
    # Once: a second Ctrl-C must not interrupt the clean-up that stops every process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def _versions() -> dict:
    names = (
        "django",
        "channels",
        "channels-redis",
        "daphne",
        "uvicorn",
        "twisted",
        "redis",
        "websockets",
        "orjson",
        "uvloop",
    )
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _ratio(a, b) -> float | None:
    return round(a / b, 2) if a and b else None


def _slow_effect(without: dict, with_slow: dict) -> dict:
    """What the slow dashboards did to the others: critical p99 with them / without them."""
    p99 = [run["latency_ms"]["critical"].get("p99") for run in (without, with_slow)]
    return {
        "critical_p99_ms": {"without": p99[0], "with": p99[1]},
        "critical_p99_ratio": _ratio(p99[1], p99[0]),
        "server_rss_mib_max": {
            "without": max(row.get("rss_mib_max") or 0 for row in without["servers"]),
            "with": max(row.get("rss_mib_max") or 0 for row in with_slow["servers"]),
        },
        "slow_close_codes": with_slow.get("slow_close_codes"),
        "slow_closed_by_server": with_slow.get("slow_closed_by_server"),
    }


def run(options) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)  # even when started as a background job
    started = time.time()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (workdir / "logs").mkdir()
    children = Children(workdir / "logs")
    sampler = Sampler()
    sampler.start()
    settings = Settings(
        clients=options.clients,
        rate=options.rate,
        duration=options.duration,
        marker_rate=options.marker_rate,
        generators=options.generators,
        burst_clients=options.burst_clients,
        burst_count=options.burst_count,
        paced_rate=options.paced_rate,
        paced_seconds=options.paced_seconds,
        fanout_rounds=options.rounds,
        connect_concurrency=options.connect_concurrency,
        profile=options.profile,
        batch=not options.per_metric,
        tickets=not options.authenticate,
        lean_clients=options.lean_clients,
    )
    stack = Stack(
        workdir,
        children,
        redis_url=options.redis_url,
        max_connections=options.clients + 100,
        slow_socket_seconds=5.0 if options.slow_clients else None,
        audit=options.audit == "on",
        log=log,
    )
    report: dict = {
        "run": {
            "started": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench", *sys.argv[1:]]),
            "options": vars(options),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "versions": _versions(),
            "prefix": stack.prefix,
        },
        "load": [],
        "fanout": {},
    }
    failed = False
    try:
        # (instances, slow clients): one instance; then two, or the same with slow clients.
        configs = [] if options.fanout_only else [(1, 0)]
        if options.instances == 2 and not options.fanout_only:
            configs.append((2, 0))
        if options.slow_clients and not options.fanout_only:
            configs.append((1, options.slow_clients))
        marker_staff = int(options.marker_rate * options.duration) * len(configs) + 20
        log(f"preparing the stack in {workdir} (Redis prefix {stack.prefix})")
        report["run"]["prepare_seconds"] = stack.prepare(marker_staff if configs else None)
        # The load phase's listener; the fan-out runs without one (the publisher feeds the hubs).
        listener = stack.start_listener() if configs else None
        if listener is not None:
            sampler.watch("listener", listener.pid)
        for instances, slow in configs:
            # Fresh server processes for each configuration: memory is measured from a clean start.
            servers = [
                stack.start_dashboard(options.server, f"server-{n + 1}", options.workers)
                for n in range(instances)
            ]
            if stack.token is None:
                stack.login(servers[0])
            for server in servers:
                stack.warm_up(server)
            result = load_phase(
                stack, children, sampler, servers, settings, workdir, log, slow_clients=slow
            )
            report["load"].append(result)
            for line in summary_lines({"load": [result]}):
                log(line)
            for server in servers:
                children.stop(server.child)
                sampler.unwatch(server.name)
        if listener is not None:
            children.stop(listener)
            sampler.unwatch("listener")
        if options.slow_clients and configs:
            report["slow_clients"] = _slow_effect(report["load"][0], report["load"][-1])
            log(f"slow clients: {report['slow_clients']}")

        kinds = options.fanout_servers
        for kind in kinds:
            # One process, as bare.
            ours = stack.start_dashboard(kind, f"ours-{kind}", workers=1, fed=True)
            if stack.token is None:
                stack.login(ours)
            stack.warm_up(ours)
            bare = stack.start_bare(kind, f"bare-{kind}")
            stacks = fanout_comparison(
                stack, children, sampler, [ours, bare], settings, workdir, log
            )
            children.stop(ours.child)
            children.stop(bare.child)
            stacks["ratio"] = {
                "burst_throughput": _ratio(
                    stacks["ours"]["burst"]["deliveries_per_second"],
                    stacks["bare"]["burst"]["deliveries_per_second"],
                ),
                "paced_p50": _ratio(
                    stacks["ours"]["paced"]["latency_ms"].get("p50"),
                    stacks["bare"]["paced"]["latency_ms"].get("p50"),
                ),
                "paced_p99": _ratio(
                    stacks["ours"]["paced"]["latency_ms"].get("p99"),
                    stacks["bare"]["paced"]["latency_ms"].get("p99"),
                ),
            }
            report["fanout"][kind] = stacks
            for line in summary_lines({"fanout": {kind: stacks}}):
                log(line)
        if {"uvicorn", "daphne"} <= set(kinds):
            fan = report["fanout"]
            report["uvicorn_vs_daphne"] = {
                name: {
                    "burst_throughput": _ratio(
                        fan["uvicorn"][name]["burst"]["deliveries_per_second"],
                        fan["daphne"][name]["burst"]["deliveries_per_second"],
                    ),
                    "paced_p99": _ratio(
                        fan["uvicorn"][name]["paced"]["latency_ms"].get("p99"),
                        fan["daphne"][name]["paced"]["latency_ms"].get("p99"),
                    ),
                }
                for name in ("bare", "ours")
            }
    except KeyboardInterrupt:
        failed = True
        log("interrupted: stopping every process")
    except Exception as exc:
        failed = True
        log(f"failed: {exc}")
    finally:
        children.stop_all()
        sampler.stop()
        try:
            stack.forget_redis_keys()
        except Exception as exc:
            log(f"could not delete the run's Redis keys: {exc}")
    report["run"]["seconds"] = round(time.time() - started, 1)
    report["run"]["complete"] = not failed
    json_path = RESULTS / f"load-{stamp}.json"
    write_json(report, json_path)
    png_path = RESULTS / f"load-{stamp}.png"
    plotted = report["load"] and plot(report, png_path)
    print()
    for line in summary_lines(report):
        print(line)
    print(f"\nreport: {json_path}" + (f"\nplot:   {png_path}" if plotted else ""))
    print(f"total {report['run']['seconds']:.0f} s")
    if failed or options.keep:
        print(f"logs kept in {workdir / 'logs'}")
    else:
        stack.remove()
    return 1 if failed else 0
