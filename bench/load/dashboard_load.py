"""The dashboard under load: N dashboards, the simulator, the markers, and what they saw."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

from metrics.catalogue import LIVE_METRICS, METRICS

from . import server_metrics
from .clients import Generators, PipedProcess
from .config import SIMULATOR_WARMUP, WRITER_DRAIN, Settings, ready_timeout
from .procs import PYTHON, Children
from .sampler import MACHINE, Sampler
from .stack import Server, Stack
from .stats import cdf_points, merge_bins, summary_ms


def load_phase(
    stack: Stack,
    children: Children,
    sampler: Sampler,
    servers: list[Server],
    settings: Settings,
    workdir: Path,
    log,
    slow_clients: int = 0,
) -> dict:
    label = f"load-{len(servers)}" + (f"-slow{slow_clients}" if slow_clients else "")
    for server in servers:
        sampler.watch(server.name, server.pid)
    rss_before = {s.name: sampler.rss(s.name) for s in servers}
    config = {
        "mode": "dashboard",
        "urls": [s.ws_url for s in servers],
        "origin": servers[0].origin,
        "clients": settings.clients,
        "token": stack.token,
        "metrics": list(LIVE_METRICS),
        "tiers": {m: METRICS[m].tier.value for m in LIVE_METRICS},
        "connect_concurrency": settings.connect_concurrency,
        "batch": settings.batch,
        "tickets": settings.tickets,
        "lean": settings.lean_clients,
        "slow_clients": slow_clients,
        # The bench's servers close a socket that has left its updates unread for 5 s (once its
        # 4 KiB receive window is full: some 10 s of this load's updates) and drop it 30 s
        # later: in between, the slow clients read again and find the close frame.
        "slow_read_after": 35.0,
    }
    log(f"[{label}] connecting {settings.clients} dashboards to {len(servers)} instance(s)")
    generators = Generators(children, f"gen-{label}", config, settings.generators, workdir)
    for k, pid in enumerate(generators.pids):
        sampler.watch(f"generator-{k}", pid)
    ready = generators.wait_ready(ready_timeout(settings.clients))
    log(
        f"[{label}] {ready['connected']} connected and subscribed in {ready['ramp_seconds']:.1f} s"
        + (f"; failures {ready['connect_failures']}" if ready["connect_failures"] else "")
    )
    time.sleep(2.0)
    rss_connected = {s.name: sampler.rss(s.name) for s in servers}

    total_seconds = settings.duration + WRITER_DRAIN
    simulator = stack.start_simulator(settings.rate, SIMULATOR_WARMUP + total_seconds + 10)
    sampler.watch("simulator", simulator.pid)
    time.sleep(SIMULATOR_WARMUP)
    writer_out = workdir / f"writer-{label}.json"
    writer = children.start(
        f"writer-{label}",
        [
            PYTHON,
            "-m",
            "bench.load.writer",
            "run",
            "--rate",
            str(settings.marker_rate),
            "--duration",
            str(settings.duration),
            "--drain",
            str(WRITER_DRAIN),
            "--out",
            str(writer_out),
        ],
        stack.env,
        pipes=True,
    )
    PipedProcess(writer).expect("PROBING", 60)
    generators.begin(label)
    started = time.time()
    metrics_before = [server_metrics.scrape(server.port) for server in servers]
    # Only the first configuration is profiled: one profile answers where the time goes.
    profilers = (
        [
            _start_profiler(children, name, pid, settings, workdir)
            for name, pid in (
                (servers[0].name, servers[0].pid),
                ("listener", stack.listener_pid),
                ("simulator", simulator.pid),
                ("generator-0", generators.pids[0]),
            )
        ]
        if settings.profile and len(servers) == 1
        else []
    )
    log(
        f"[{label}] simulator at {settings.rate:g} changes/s, markers at {settings.marker_rate:g}/s "
        f"per tier, for {settings.duration:g} s"
    )
    code = writer.wait(timeout=total_seconds + 120)
    if code != 0:
        raise RuntimeError(f"the marker writer failed:\n{writer.log_tail()}")
    children.stop(writer)
    # The window ends here: what the generators do next (reading the frames they held,
    # analysing) is not the load's, and stays out of its CPU figures.
    ended = time.time()
    sampler.sample()
    metrics_after = [server_metrics.scrape(server.port) for server in servers]
    parts = generators.end(label, writer_out)
    children.stop(simulator)
    profiles = {
        name: _finish_profiler(children, p)
        for name, p in ((p[2], p) for p in profilers if p is not None)
    }
    bye = generators.quit()
    slow_closed = (
        sum(
            int(
                server_metrics.counter(
                    server_metrics.scrape(s.port), "dashboard_ws_slow_closed_total"
                )
            )
            for s in servers
        )
        if slow_clients
        else None
    )
    writes = json.loads(writer_out.read_text())
    result = summarize_load(
        label,
        parts,
        writes,
        started,
        ended,
        ready,
        bye,
        servers,
        sampler,
        rss_before,
        rss_connected,
        settings,
    )
    # The server's own count of sockets it closed with 4008 (its /metrics, over its workers).
    result["slow_closed_by_server"] = slow_closed
    # The servers' side of change -> client: from a process taking a flush to its last socket.
    result["flush_delivery"] = server_metrics.flush_delivery(metrics_before, metrics_after)
    result["processes"] = {
        name: sampler.window(name, started, ended)
        for name in [
            "listener",
            "simulator",
            *(f"generator-{k}" for k in range(len(generators.pids))),
        ]
    }
    ours = sum(row["cpu_percent"] or 0 for row in result["servers"]) + sum(
        w["cpu_percent"] for w in result["processes"].values() if w
    )
    machine = (sampler.window(MACHINE, started, ended) or {}).get("cpu_percent", float("nan"))
    result["cpu_percent_of_one_core"] = {
        "machine": round(machine, 1),
        "benchmark_processes": round(ours, 1),
        "everything_else": round(machine - ours, 1),
    }
    result["listener_batches"] = listener_batches(children.logdir / "listener.log", started, ended)
    for k in range(len(generators.pids)):
        sampler.unwatch(f"generator-{k}")
    sampler.unwatch("simulator")
    if profiles:
        result["profile"] = profiles
    return result


_BATCH = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<ms>\d{3}) .*batch(?: \(\w+\))?: (?P<changes>\d+) changes.*"
    r"lag (?:(?P<lag>\d+) ms|unknown)"
)


def listener_batches(log_path: Path, start: float, end: float) -> dict:
    """The listener's own account of the window: batches, changes, and its lag behind the stream."""
    batches, changes, lags = 0, 0, []
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        match = _BATCH.match(line)
        if match is None:
            continue
        moment = (
            time.mktime(time.strptime(match["at"], "%Y-%m-%d %H:%M:%S")) + int(match["ms"]) / 1000
        )
        if start <= moment <= end:
            batches += 1
            changes += int(match["changes"])
            if match["lag"] is not None:
                lags.append(int(match["lag"]))
    last = lags[-1] if lags else None
    lags.sort()
    return {
        "batches": batches,
        "changes": changes,
        "changes_per_second": round(changes / (end - start), 1),
        "lag_ms_p50": lags[len(lags) // 2] if lags else None,
        "lag_ms_max": lags[-1] if lags else None,
        "lag_ms_last": last,
    }


def listener_latency(writes: dict) -> dict:
    """Write -> channel layer: the first broadcast whose version is at least each write's
    position."""
    out = {}
    for tier, marker in writes["markers"].items():
        reached = sorted((int(v), t) for v, t in writes["sent"].get(marker["metric"], {}).items())
        samples = []
        for written_at, written in marker["writes"]:
            later = min((t for v, t in reached if v >= written), default=None)
            if later is not None:
                samples.append(later - written_at)
        out[tier] = summary_ms(samples)
    return out


def summarize_load(
    label,
    parts,
    writes,
    started,
    ended,
    ready,
    bye,
    servers,
    sampler,
    rss_before,
    rss_connected,
    settings,
) -> dict:
    seconds = ended - started
    delivered = sum(p["delivered"] for p in parts)
    bins = merge_bins(p["bins"] for p in parts)
    first = int(started)
    series = [[second - first, bins.get(second, 0)] for second in range(first, int(ended) + 1)]
    samples = {
        tier: sorted(v for p in parts for v in p["marker_latency"].get(tier, []))
        for tier in ("critical", "standard")
    }
    latency = {tier: summary_ms(values) for tier, values in samples.items()}
    fanout = {
        tier: summary_ms(v for p in parts for v in p["ref_latency"].get(tier, []))
        for tier in ("critical", "standard")
    }
    server_rows = []
    for server in servers:
        share = ready["connected_by_url"].get(server.ws_url, 0)
        window = sampler.window(server.name, started, ended) or {}
        before, connected = rss_before.get(server.name), rss_connected.get(server.name)
        per_connection = (
            round((connected - before) / share / 1024, 1)
            if before and connected and share
            else None
        )
        server_rows.append(
            {
                "instance": server.name,
                "server": server.kind,
                "port": server.port,
                "connections": share,
                "cpu_percent": window.get("cpu_percent"),
                "cpu_percent_peak": window.get("cpu_percent_peak"),
                "rss_mib_idle": round(before / 2**20, 1) if before else None,
                "rss_mib_connected": round(connected / 2**20, 1) if connected else None,
                "rss_mib_end": window.get("rss_mib_end"),
                "rss_mib_max": window.get("rss_mib_max"),
                "rss_kib_per_connection": per_connection,
                "cpu_series": sampler.cpu_series(server.name, started, ended),
            }
        )
    return {
        "label": label,
        "instances": len(servers),
        "server": servers[0].kind,
        "clients": settings.clients,
        "connected": ready["connected"],
        "connect_failures": ready["connect_failures"],
        "ramp_seconds": ready["ramp_seconds"],
        "window_seconds": round(seconds, 2),
        "latency_ms": latency,
        "latency_cdf_ms": {tier: cdf_points(values) for tier, values in samples.items()},
        "listener_ms": listener_latency(writes),
        "fanout_ms": fanout,
        "marker_writes": {tier: len(m["writes"]) for tier, m in writes["markers"].items()},
        "marker_write_ms_p50": writes["write_ms"][len(writes["write_ms"]) // 2]
        if writes["write_ms"]
        else None,
        # The store's write itself (its lock is shared with the simulator's writes) counts in
        # change -> layer: a slow write shows here rather than in the listener.
        "marker_write_ms_max": writes["write_ms"][-1] if writes["write_ms"] else None,
        "markers_missed": _sum_counts(p["marker_missed"] for p in parts),
        "deliveries": {
            "total": delivered,
            "per_second": round(delivered / seconds, 1),
            "expected": sum(p["expected"] for p in parts),
            "missed": sum(p["missed"] for p in parts),
            "out_of_order": sum(p["out_of_order"] for p in parts),
            "broadcasts": {m: len(v) for m, v in writes["sent"].items()},
        },
        "errors": sum(p["errors"] for p in parts),
        "dropped": sum(p["dropped"] for p in parts),
        "alive_at_end": bye["alive"],
        "dropped_total": ready["connected"] - bye["slow_clients"] - bye["alive"],
        "close_codes": bye["close_codes"],
        "slow_clients": bye["slow_clients"],
        "slow_close_codes": bye["slow_close_codes"],
        "batch": settings.batch,
        "series": series,
        "servers": server_rows,
    }


# --- profiling ------------------------------------------------------------------------------------
def _start_profiler(children: Children, name: str, pid: int, settings: Settings, workdir: Path):
    """py-spy sampling a process and its children (a server's workers) for the load window (100 Hz,
    without pausing it)."""
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        return None
    out = workdir / f"profile-{name}.txt"
    child = children.start(
        f"py-spy-{name}",
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(settings.duration)),
            "--rate",
            "100",
            "--format",
            "raw",
            "--nonblocking",
            "--subprocesses",
            "--output",
            str(out),
        ],
        dict(os.environ),
    )
    return child, out, name


def _finish_profiler(children: Children, profiler) -> dict:
    from .profiling import summarize

    child, out, _name = profiler
    try:
        child.wait(timeout=60)
    except Exception:
        children.stop(child)
    if not out.exists():
        return {"error": child.log_tail()}
    return summarize(out.read_text())


def _sum_counts(parts) -> dict:
    total: dict[str, int] = {}
    for part in parts:
        for key, n in part.items():
            total[key] = total.get(key, 0) + n
    return total
