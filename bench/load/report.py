"""The run's report: a JSON file, a PNG plot, and a summary on stdout."""

from __future__ import annotations

import json
from pathlib import Path


def write_json(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


def _ms(row: dict, key: str) -> str:
    value = row.get(key)
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _losses(row: dict) -> str:
    """What did not arrive: conflated (a newer value came instead) and missed (nothing as new)."""
    return f"conflated {row.get('conflated', 0):,}, missed {row['missed']:,}"


def _codes(codes: dict | None) -> str:
    """Close codes and how many sockets each: "4008 x 3, 1006 x 1", or "none"."""
    if not codes:
        return "none"
    return ", ".join(f"{code} x {n}" for code, n in sorted(codes.items(), key=lambda c: -c[1]))


def summary_lines(report: dict) -> list[str]:
    lines = []
    for load in report.get("load", []):
        lines.append(
            f"load: {load['clients']} dashboards on {load['instances']} {load['server']} "
            f"instance(s), {load['connected']} connected in {load['ramp_seconds']:.1f} s, "
            f"window {load['window_seconds']:.0f} s"
        )
        for tier in ("critical", "standard"):
            total, listener, fanout = (
                load["latency_ms"][tier],
                load["listener_ms"][tier],
                load["fanout_ms"][tier],
            )
            lines.append(
                f"  {tier:9} change->client p50 {_ms(total, 'p50')} p95 {_ms(total, 'p95')} "
                f"p99 {_ms(total, 'p99')} ms (n={total.get('n', 0)}) | change->layer p50 "
                f"{_ms(listener, 'p50')} p99 {_ms(listener, 'p99')} | layer->client p50 "
                f"{_ms(fanout, 'p50')} p99 {_ms(fanout, 'p99')}"
            )
        d = load["deliveries"]
        lines.append(
            f"  deliveries {d['total']:,} ({d['per_second']:,.0f}/s), missed {d['missed']}, "
            f"out of order {d['out_of_order']}, markers missed {load['markers_missed']}, "
            f"errors {load['errors']}, dropped {load['dropped']}, "
            f"connect failures {load['connect_failures'] or 0}"
        )
        for row in load["servers"]:
            lines.append(
                f"  {row['instance']}: CPU {row['cpu_percent']}% (peak {row['cpu_percent_peak']}%), "
                f"RSS {row['rss_mib_idle']} -> {row['rss_mib_connected']} MiB with "
                f"{row['connections']} sockets ({row['rss_kib_per_connection']} KiB each), "
                f"{row['rss_mib_end']} MiB at the end (at most {row.get('rss_mib_max')} MiB)"
            )
        if load.get("slow_clients"):
            lines.append(
                f"  {load['slow_clients']} slow dashboards (not reading for 35 s): closed with "
                f"{load['slow_close_codes']}, by the server's count "
                f"{load.get('slow_closed_by_server')} closed with 4008"
            )
        others = ", ".join(
            f"{name} {w['cpu_percent']}%" for name, w in load["processes"].items() if w
        )
        lines.append(f"  other CPU: {others}")
        cpu = load.get("cpu_percent_of_one_core", {})
        lines.append(
            f"  machine: {cpu.get('machine')}% of one core busy, {cpu.get('benchmark_processes')}% "
            f"the benchmark's processes, {cpu.get('everything_else')}% everything else"
        )
        fanout = load.get("flush_delivery") or {}
        if fanout:
            tiers = " | ".join(
                f"{tier} {row['flushes']} flushes, mean {row['mean_ms']} p50 {row['p50_ms']} "
                f"p99 {row['p99_ms']} ms"
                for tier, row in fanout.items()
            )
            lines.append(f"  servers, a flush to its last socket (per process): {tiers}")
        batches = load.get("listener_batches") or {}
        if batches:
            lines.append(
                f"  listener: {batches['batches']} batches, {batches['changes_per_second']} changes/s, "
                f"lag behind the stream p50 {batches['lag_ms_p50']} ms, last {batches['lag_ms_last']} ms"
            )
        for name, profile in (load.get("profile") or {}).items():
            if profile.get("own_percent_by_package"):
                top = ", ".join(
                    f"{pkg} {pct}%" for pkg, pct in profile["own_percent_by_package"][:8]
                )
                lines.append(
                    f"  {name} profile, own time by package ({profile['samples']} samples): {top}"
                )
    for kind, stacks in report.get("fanout", {}).items():
        for name in ("bare", "ours"):
            row = stacks.get(name)
            if not row:
                continue
            burst, paced = row["burst"], row["paced"]
            each = ", ".join(f"{v:,.0f}" for v in burst["deliveries_per_second_each"])
            lines.append(
                f"fan-out {kind} {name:4}: burst {burst['deliveries_per_second'] or 0:,.0f} "
                f"deliveries/s (median of {each}; {row['clients']} clients x {burst['messages']} "
                f"messages of {row['frame_bytes']} B, {_losses(burst)}, server CPU "
                f"{burst['server_cpu_percent']:.0f}%, everything else "
                f"{burst['everything_else_cpu_percent']:.0f}%); paced {paced['rate']:g}/s p50 "
                f"{_ms(paced['latency_ms'], 'p50')} p99 {_ms(paced['latency_ms'], 'p99')} ms, "
                f"{_losses(paced)}; closed by the server: {_codes(row.get('closes'))}"
            )
        ratio = stacks.get("ratio")
        if ratio:
            lines.append(
                f"fan-out {kind} ours/bare: burst throughput x{ratio['burst_throughput']}, "
                f"paced p50 x{ratio['paced_p50']}, p99 x{ratio['paced_p99']}"
            )
    if report.get("uvicorn_vs_daphne"):
        lines.append(f"uvicorn/daphne: {report['uvicorn_vs_daphne']}")
    return lines


def plot(report: dict, path: Path) -> bool:
    """Latency CDF by tier and deliveries per second over time; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    loads = report.get("load", [])
    fanout = report.get("fanout", {})
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    cdf, rate, bars = axes
    styles = {"critical": "-", "standard": "--"}
    for n, load in enumerate(loads):
        for tier in ("critical", "standard"):
            points = load.get("latency_cdf_ms", {}).get(tier, [])
            if not points:
                continue
            cdf.plot(
                [ms for _, ms in points],
                [p / 100 for p, _ in points],
                styles[tier],
                color=f"C{n}",
                label=f"{tier}, {load['instances']} instance(s)",
            )
    cdf.set_xlabel("change -> client latency (ms)")
    cdf.set_ylabel("fraction of (client, change)")
    cdf.set_title(f"Latency CDF by tier ({loads[0]['clients'] if loads else 0} dashboards)")
    cdf.grid(alpha=0.3)
    cdf.legend(fontsize=8)
    for n, load in enumerate(loads):
        xs = [p[0] for p in load["series"]]
        ys = [p[1] for p in load["series"]]
        rate.plot(xs, ys, color=f"C{n}", label=f"{load['instances']} instance(s)")
    rate.set_xlabel("seconds into the measured window")
    rate.set_ylabel("dashboard_update deliveries / s")
    rate.set_title("Deliveries per second")
    rate.grid(alpha=0.3)
    rate.legend(fontsize=8)
    labels, values, colors = [], [], []
    for kind, stacks in fanout.items():
        for name, color in (("bare", "tab:gray"), ("ours", "tab:blue")):
            row = stacks.get(name)
            if row and row["burst"].get("deliveries_per_second"):
                labels.append(f"{name}\n{kind}")
                values.append(row["burst"]["deliveries_per_second"])
                colors.append(color)
    bars.bar(labels, values, color=colors)
    bars.set_ylabel("deliveries / s")
    bars.set_title("Fan-out burst: bare Channels consumer vs the hub")
    for x, value in enumerate(values):
        bars.annotate(f"{value:,.0f}", (x, value), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
