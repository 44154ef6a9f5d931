"""The runner's side of the load generators: start them, wait for READY, drive windows."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

from .procs import PYTHON, Child, Children


class PipedProcess:
    """A child whose stdout lines are read in a thread, to wait for one with a timeout."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name=f"read-{child.name}").start()

    def _read(self) -> None:
        for line in self.child.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of output

    def send(self, line: str) -> None:
        self.child.process.stdin.write(line + "\n")
        self.child.process.stdin.flush()

    def expect(self, word: str, timeout: float) -> str:
        """The rest of the next line starting with `word`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"{self.child.name}: no {word} within {timeout:.0f} s:\n{self.child.log_tail()}"
                )
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line == "" and not self.child.alive():
                raise RuntimeError(f"{self.child.name} exited:\n{self.child.log_tail()}")
            if line.startswith(word):
                return line[len(word) :].strip()


class Generators:
    """K generator processes sharing N clients; client i goes to urls[i % len(urls)]."""

    def __init__(
        self, children: Children, name: str, config: dict, processes: int, workdir: Path
    ) -> None:
        self.children = children
        self.workdir = workdir
        self.name = name
        total = config["clients"]
        slow = config.get("slow_clients", 0)
        processes = max(1, min(processes, total or 1))
        self.procs: list[PipedProcess] = []
        first = 0
        for k in range(processes):
            share = total // processes + (1 if k < total % processes else 0)
            slow_share = slow // processes + (1 if k < slow % processes else 0)
            part = {**config, "clients": share, "first_index": first, "slow_clients": slow_share}
            first += share
            child = children.start(
                f"{name}-{k}",
                [PYTHON, "-m", "bench.load.generator", json.dumps(part)],
                _generator_env(),
                pipes=True,
            )
            self.procs.append(PipedProcess(child))

    @property
    def pids(self) -> list[int]:
        return [p.child.pid for p in self.procs]

    def wait_ready(self, timeout: float) -> dict:
        ready = [json.loads(p.expect("READY", timeout)) for p in self.procs]
        merged = {
            "clients": sum(r["clients"] for r in ready),
            "connected": sum(r["connected"] for r in ready),
            "ramp_seconds": max(r["ramp_seconds"] for r in ready),
            "connect_failures": _merge_counts(r["connect_failures"] for r in ready),
            "connect_retries": sum(r.get("connect_retries", 0) for r in ready),
            "connected_by_url": _merge_counts(r["connected_by_url"] for r in ready),
            "versions": {},
        }
        for r in ready:
            for metric, version in r["versions"].items():
                merged["versions"][metric] = max(merged["versions"].get(metric, -1), version)
        return merged

    def begin(self, label: str) -> None:
        for p in self.procs:
            p.send(f"begin {label}")
        for p in self.procs:
            p.expect("BEGUN", 30)

    def count(self) -> int:
        for p in self.procs:
            p.send("count")
        return sum(int(p.expect("COUNT", 30)) for p in self.procs)

    def wait_quiet(self, expected: int, quiet: float, timeout: float) -> int:
        """Poll until `expected` deliveries arrived or none came for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = self.count()
            if count >= expected:
                return count
            if count != last:
                last, last_change = count, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return count
            time.sleep(0.2)
        return last

    def end(self, label: str, refs_path: Path, timeout: float = 300) -> list[dict]:
        outs = [self.workdir / f"{self.name}-{k}-{label}.json" for k in range(len(self.procs))]
        for p, out in zip(self.procs, outs, strict=True):
            p.send(f"end {label} {refs_path} {out}")
        for p in self.procs:
            p.expect("ENDED", timeout)
        return [json.loads(out.read_text()) for out in outs]

    def quit(self, timeout: float = 60) -> dict:
        for p in self.procs:
            p.send("quit")
        byes = [json.loads(p.expect("BYE", timeout)) for p in self.procs]
        for p in self.procs:
            try:
                p.child.wait(timeout=15)
            except Exception:
                pass
            self.children.stop(p.child)
        return {
            "alive": sum(b["alive"] for b in byes),
            "close_codes": _merge_counts(b["close_codes"] for b in byes),
            "slow_clients": sum(b.get("slow_clients", 0) for b in byes),
            "slow_close_codes": _merge_counts(b.get("slow_close_codes", {}) for b in byes),
        }


def _merge_counts(parts) -> dict:
    merged: dict[str, int] = {}
    for part in parts:
        for key, n in part.items():
            merged[str(key)] = merged.get(str(key), 0) + n
    return merged


def _generator_env() -> dict:
    import os

    return {**os.environ, "PYTHONUNBUFFERED": "1"}
