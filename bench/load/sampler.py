"""CPU and memory of the run's processes (psutil), sampled in a background thread."""

from __future__ import annotations

import threading
import time

import psutil

INTERVAL = 0.5
MACHINE = "machine"  # the series of the whole machine (CPU % of one core: up to 100 x cores)


class Sampler:
    """Samples each watched pid's CPU time and RSS every INTERVAL seconds, with its children's
    (a server instance is a supervisor and its worker processes)."""

    def __init__(self) -> None:
        self._watched: dict[str, psutil.Process] = {}
        self._lock = threading.Lock()
        self.series: dict[str, list[tuple[float, float, int]]] = {}  # name -> (t, cpu s, rss)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            try:
                self._watched[name] = psutil.Process(pid)
            except psutil.NoSuchProcess:
                return
            self.series.setdefault(name, [])

    def unwatch(self, name: str) -> None:
        with self._lock:
            self._watched.pop(name, None)

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            watched = list(self._watched.items())
        moment = time.time()
        # The whole machine, as one more series: busy CPU seconds summed over every core.
        system = psutil.cpu_times()
        busy = sum(system) - system.idle - getattr(system, "iowait", 0.0)
        with self._lock:
            self.series.setdefault(MACHINE, []).append((moment, busy, 0))
        for name, process in watched:
            try:
                cpu, rss = _tree_usage(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            with self._lock:
                self.series[name].append((moment, cpu, rss))

    def rss(self, name: str) -> int | None:
        """The current RSS of a watched process (and its children), read now."""
        process = self._watched.get(name)
        if process is None:
            return None
        try:
            return _tree_usage(process)[1]
        except psutil.NoSuchProcess:
            return None

    def window(self, name: str, start: float, end: float) -> dict | None:
        """CPU % (of one core) and RSS of one process between two wall times."""
        with self._lock:
            points = [p for p in self.series.get(name, []) if start <= p[0] <= end]
        if len(points) < 2:
            return None
        (t0, cpu0, _), (t1, cpu1, _) = points[0], points[-1]
        busiest = max(
            (
                (b[1] - a[1]) / (b[0] - a[0])
                for a, b in zip(points, points[1:], strict=False)
                if b[0] > a[0]
            ),
            default=0.0,
        )
        return {
            "cpu_percent": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
            "cpu_percent_peak": round(100 * busiest, 1),
            "rss_mib_max": round(max(p[2] for p in points) / 2**20, 1),
            "rss_mib_end": round(points[-1][2] / 2**20, 1),
        }

    def cpu_series(self, name: str, start: float, end: float) -> list[tuple[float, float]]:
        """(seconds since start, CPU %) per sample interval."""
        with self._lock:
            points = [p for p in self.series.get(name, []) if start <= p[0] <= end]
        return [
            (round(b[0] - start, 2), round(100 * (b[1] - a[1]) / (b[0] - a[0]), 1))
            for a, b in zip(points, points[1:], strict=False)
            if b[0] > a[0]
        ]


def _tree_usage(process: psutil.Process) -> tuple[float, int]:
    """CPU seconds and RSS bytes of a process and its live children."""
    cpu, rss = 0.0, 0
    for member in [process, *process.children(recursive=True)]:
        try:
            with member.oneshot():
                times = member.cpu_times()
                cpu += times.user + times.system
                rss += member.memory_info().rss
        except psutil.NoSuchProcess:
            if member is process:
                raise
    return cpu, rss
