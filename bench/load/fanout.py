"""Fan-out on equal terms: the dashboard's hub against a bare Channels consumer."""

from __future__ import annotations

import json
from pathlib import Path

from metrics.catalogue import LIVE_METRICS

from .clients import Generators, PipedProcess
from .config import Settings, ready_timeout
from .procs import PYTHON, Children
from .sampler import MACHINE, Sampler
from .stack import Server, Stack
from .stats import median, summary_ms


class FanoutTarget:
    """One server under test, with its clients and its publisher, all connected and ready."""

    def __init__(
        self,
        stack: Stack,
        children: Children,
        sampler: Sampler,
        server: Server,
        settings: Settings,
        workdir: Path,
    ) -> None:
        self.server = server
        self.sampler = sampler
        self.stack_name = "ours" if server.app == "dashboard" else "bare"
        self.target = "hub" if server.app == "dashboard" else "bare"
        self.label = f"{self.stack_name}-{server.kind}"
        self.workdir = workdir
        sampler.watch(server.name, server.pid)
        config = {
            "mode": "dashboard" if self.target == "hub" else "bare",
            "urls": [server.ws_url],
            "origin": server.origin,
            "clients": settings.burst_clients,
            "token": stack.token,
            "metrics": list(LIVE_METRICS),
            "tiers": {},
            "connect_concurrency": settings.connect_concurrency,
        }
        self.generators = Generators(
            children, f"gen-{self.label}", config, settings.generators, workdir
        )
        self.gen_names = [f"gen-{self.label}-{k}" for k in range(len(self.generators.pids))]
        for name, pid in zip(self.gen_names, self.generators.pids, strict=True):
            sampler.watch(name, pid)
        env = (
            stack.env
            if self.target == "hub"
            else {**stack.env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
        )
        self.publisher = PipedProcess(
            children.start(
                f"publisher-{self.label}",
                [PYTHON, "-m", "bench.load.publisher", "--target", self.target],
                env,
                pipes=True,
            )
        )
        self.ready = self.generators.wait_ready(ready_timeout(settings.burst_clients))
        self.publisher.expect("READY", 60)
        self.connected = self.ready["connected"]
        self.closes: dict[str, int] = {}

    def round(self, mode: str, count: int, rate: float, index: int) -> dict:
        """Publish `count` messages (rate 0: a burst) and measure their delivery."""
        label = f"{mode}{index}"
        out = self.workdir / f"publish-{self.label}-{label}.json"
        self.generators.begin(label)
        self.publisher.send(f"publish {count} {rate} {out}")
        self.publisher.expect("DONE", count / max(rate, 1) + 120)
        expected = self.connected * count
        self.generators.wait_quiet(expected, quiet=2.0, timeout=120)
        parts = self.generators.end(label, out)
        self.sampler.sample()
        sent = json.loads(out.read_text())
        key = "patientCount" if self.target == "hub" else "bare"
        delivered = sum(p["delivered"] for p in parts)
        newest = [p["newest"] for p in parts]
        last = max((p["last_arrival"] for p in parts if p["last_arrival"]), default=None)
        span = (last - sent["started"]) if last else None
        # CPU while sending and delivering only.
        busy_from, busy_to = sent["started"] - 0.5, (last or sent["finished"]) + 0.5
        server_cpu = self.sampler.window(self.server.name, busy_from, busy_to) or {}
        generator_cpu = [
            (self.sampler.window(name, busy_from, busy_to) or {}).get("cpu_percent")
            for name in self.gen_names
        ]
        machine = (self.sampler.window(MACHINE, busy_from, busy_to) or {}).get("cpu_percent")
        ours = (server_cpu.get("cpu_percent") or 0) + sum(c or 0 for c in generator_cpu)
        return {
            "messages": count,
            "frame_bytes": sent["frame_bytes"],
            "delivered": delivered,
            "expected": expected,
            # Not delivered: in place of a newer value (conflated), or with nothing as new after.
            "conflated": sum(n["conflated"] for n in newest),
            "missed": sum(n["missed"] for n in newest),
            "clients_without_newest": sum(n["clients_without_newest"] for n in newest),
            "dropped": sum(p["dropped"] for p in parts),
            "out_of_order": sum(p["out_of_order"] for p in parts),
            "seconds": round(span, 3) if span else None,
            "deliveries_per_second": round(delivered / span, 1) if span else None,
            "latency": [v for p in parts for v in p["ref_latency"].get(key, [])],
            "server_cpu_percent": server_cpu.get("cpu_percent"),
            "generator_cpu_percent": generator_cpu,
            "everything_else_cpu_percent": round(machine - ours, 1)
            if machine is not None
            else None,
        }

    def close(self, children: Children) -> None:
        self.publisher.send("quit")
        children.stop(self.publisher.child)
        # The clients the server closed before the end, by close code.
        self.closes = self.generators.quit()["close_codes"]
        for name in self.gen_names:
            self.sampler.unwatch(name)


def fanout_comparison(
    stack: Stack,
    children: Children,
    sampler: Sampler,
    servers: list[Server],
    settings: Settings,
    workdir: Path,
    log,
) -> dict:
    """The same pattern to each server, in alternating rounds: paced, then a burst.

    Rounds alternate between the servers so that a change in the machine's other load
    hits both alike; the burst figure is the median over rounds, paced latencies are
    pooled over rounds.
    """
    targets = [FanoutTarget(stack, children, sampler, s, settings, workdir) for s in servers]
    rounds = settings.fanout_rounds
    paced_count = max(1, round(settings.paced_rate * settings.paced_seconds / rounds))
    log(
        f"[fan-out {servers[0].kind}] {', '.join(f'{t.label}: {t.connected} clients' for t in targets)};"
        f" {rounds} rounds of paced {settings.paced_rate:g}/s x {paced_count} and a burst of "
        f"{settings.burst_count}"
    )
    rows: dict[str, dict[str, list]] = {t.stack_name: {"paced": [], "burst": []} for t in targets}
    try:
        for index in range(rounds):
            for target in targets:
                rows[target.stack_name]["paced"].append(
                    target.round("paced", paced_count, settings.paced_rate, index)
                )
                rows[target.stack_name]["burst"].append(
                    target.round("burst", settings.burst_count, 0.0, index)
                )
    finally:
        for target in targets:
            target.close(children)
    result = {}
    for target in targets:
        paced, burst = rows[target.stack_name]["paced"], rows[target.stack_name]["burst"]
        rates = [r["deliveries_per_second"] for r in burst if r["deliveries_per_second"]]
        result[target.stack_name] = {
            "server": target.server.kind,
            "clients": target.connected,
            "connect_failures": target.ready["connect_failures"],
            "closes": target.closes,
            "frame_bytes": burst[0]["frame_bytes"],
            "paced": {
                "messages": sum(r["messages"] for r in paced),
                "rate": settings.paced_rate,
                "latency_ms": summary_ms(v for r in paced for v in r["latency"]),
                "delivered": sum(r["delivered"] for r in paced),
                "conflated": sum(r["conflated"] for r in paced),
                "missed": sum(r["missed"] for r in paced),
                "clients_without_newest": sum(r["clients_without_newest"] for r in paced),
                "dropped": sum(r["dropped"] for r in paced),
                "out_of_order": sum(r["out_of_order"] for r in paced),
                "server_cpu_percent": median([r["server_cpu_percent"] or 0 for r in paced]),
            },
            "burst": {
                "messages": settings.burst_count,
                "rounds": len(burst),
                "deliveries_per_second": round(median(rates), 1) if rates else None,
                "deliveries_per_second_each": rates,
                "seconds_each": [r["seconds"] for r in burst],
                "latency_ms": summary_ms(v for r in burst for v in r["latency"]),
                "delivered": sum(r["delivered"] for r in burst),
                "delivered_each": [r["delivered"] for r in burst],
                "conflated": sum(r["conflated"] for r in burst),
                "missed": sum(r["missed"] for r in burst),
                "clients_without_newest": sum(r["clients_without_newest"] for r in burst),
                "dropped": sum(r["dropped"] for r in burst),
                "out_of_order": sum(r["out_of_order"] for r in burst),
                "server_cpu_percent": median([r["server_cpu_percent"] or 0 for r in burst]),
                "generator_cpu_percent": [r["generator_cpu_percent"] for r in burst],
                "everything_else_cpu_percent": median(
                    [r["everything_else_cpu_percent"] or 0 for r in burst]
                ),
            },
        }
    return result
