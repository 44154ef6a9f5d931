"""`manage.py serve --workers N`: one instance, N server processes on one port.

Each worker is a `serve` process of its own (its own event loop, hub
and sockets) bound to the same port with SO_REUSEPORT, so that the kernel
spreads new connections over them. This process supervises them:

- the instance's limits hold for the instance as a whole: every worker counts
  its sockets on the instance's board (live/sockets/board.py), a SQLite file in this
  process's private directory, and each is named `<instance>/<k>` in
  `connection_status`;
- Prometheus runs in multiprocess mode (a fresh PROMETHEUS_MULTIPROC_DIR), so
  that `/metrics`, whichever worker answers it, describes the instance as one;
- the instance registry gets one record for the instance, with the open
  sockets of every worker summed;
- the listener (where `serve` runs it) runs in worker 0 only, the simulator
  here;
- SIGTERM or SIGINT stops every worker the way a single `serve` stops (the
  listener saves its checkpoint and releases its lease), and a worker that
  dies is started again;
- each worker notes a heartbeat on the board every second from its event
  loop; one silent for DASHBOARD_WORKER_TIMEOUT (10 s; a stopped or hung
  loop) is killed and started again, as gunicorn's worker timeout does.
  A starting worker has STARTUP_SECONDS to serve its first heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from django.conf import settings

from runtime.cli import python_command
from runtime.dependencies import redis_configured

from ..instance import instance_id
from .board import BOARD_ENV, WORKER_ENV, Board

logger = logging.getLogger("dashboard.serve")

STOP_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1
RESTART_PAUSE_SECONDS = 1.0
STARTUP_SECONDS = 60.0


def worker_environment(index: int, metrics_dir: str, board_path: str) -> dict[str, str]:
    """The environment of worker `index`."""
    env = os.environ.copy()
    env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    env["DASHBOARD_INSTANCE_ID"] = f"{instance_id()}/{index}"
    env[BOARD_ENV] = board_path
    env[WORKER_ENV] = str(index)
    return env


def instance_connections() -> int:
    """Open sockets over every worker, from the workers' Prometheus files."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for family in registry.collect():
        if family.name == "dashboard_ws_connections_active":
            return int(sum(sample.value for sample in family.samples))
    return 0


class Supervisor:
    def __init__(self, command: Callable[[int], list[str]], workers: int) -> None:
        self.command = command
        self.workers = workers
        self.metrics_dir = tempfile.mkdtemp(prefix="dashboard-metrics-")
        self.board = Board(os.path.join(self.metrics_dir, "board.sqlite3"))
        self.processes: dict[int, subprocess.Popen] = {}
        self.stopping = False

    def start(self, index: int) -> None:
        env = worker_environment(index, self.metrics_dir, str(self.board.path))
        process = subprocess.Popen(self.command(index), env=env, preexec_fn=_die_with_parent)
        self.processes[index] = process
        self.board.worker_started(index, process.pid)

    def run(self, address: str) -> None:
        """Start the workers and watch them until a signal stops them."""
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = self.metrics_dir  # for instance_connections
        for index in range(self.workers):
            self.start(index)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            asyncio.run(self._watch(address))
        finally:
            self.stop_all()
            self.board.close()
            shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    async def _watch(self, address: str) -> None:
        announcer = None
        if redis_configured():
            from .registry import announce_forever

            announcer = asyncio.create_task(announce_forever(address, instance_connections))
        try:
            while not self.stopping:
                await asyncio.sleep(0.2)
                self._kill_silent()
                for index, process in list(self.processes.items()):
                    if process.poll() is not None and not self.stopping:
                        logger.warning(
                            "worker %d exited with %s: starting it again", index, process.returncode
                        )
                        _forget(self.metrics_dir, process.pid)
                        await asyncio.sleep(RESTART_PAUSE_SECONDS)
                        self.start(index)
        finally:
            if announcer is not None:
                announcer.cancel()
                await asyncio.gather(announcer, return_exceptions=True)

    def _kill_silent(self) -> None:
        """SIGKILL a worker whose loop has been silent too long (the watch loop restarts it)."""
        now = time.time()
        for worker in self.board.workers():
            process = self.processes.get(worker.index)
            if process is None or process.pid != worker.pid or process.poll() is not None:
                continue
            limit = settings.DASHBOARD_WORKER_TIMEOUT
            if worker.beat is None:
                limit = max(limit, STARTUP_SECONDS)
            silent = worker.silent_for(now)
            if silent > limit:
                logger.warning(
                    "worker %d (pid %d) silent for %.0f s: killing it",
                    worker.index,
                    worker.pid,
                    silent,
                )
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        """SIGTERM to every worker (each stops as `serve` does), SIGKILL after STOP_SECONDS."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _die_with_parent() -> None:
    """In the worker, before exec: SIGTERM when the supervisor dies, however it dies (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _forget(metrics_dir: str, pid: int) -> None:
    """A dead worker's live gauges no longer count."""
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, metrics_dir)


def worker_command(base: list[str]) -> Callable[[int], list[str]]:
    """`serve` for worker k, by the same interpreter and entry point whatever the working
    directory: the same options, the listener in worker 0 only."""

    def command(index: int) -> list[str]:
        listener = [] if index == 0 else ["--listener", "off"]
        return python_command("serve", *base, "--worker", *listener)

    return command
