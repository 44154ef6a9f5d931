"""`manage.py serve`: the dashboard under uvicorn (or daphne), the listener in-process where configured.

Each instance runs this command; with REDIS_URL the listener usually runs
apart (`watch_changes`), and without it (the demo, a single instance) it runs
here (DASHBOARD_LISTENER_IN_PROCESS). uvicorn is the default server (the
faster one, docs/bench-load.md); daphne serves the same application with the
same protocol (`--server daphne` or DASHBOARD_SERVER). With REDIS_URL an
instance runs one worker process per core (`--workers`, live/workers.py).
"""

import argparse
import asyncio
import logging
import os
import signal
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runtime.cli import python_command
from runtime.dependencies import redis_configured
from runtime.engines import require_engines

if TYPE_CHECKING:
    from live.listener import ChangeListener

logger = logging.getLogger("dashboard.serve")
# Start-up logs a screenful (the listener's first resync, the simulator): say where to go again
# once it has settled, so the address and logins are on screen when someone looks.
BANNER_AGAIN_SECONDS = 8


class Command(BaseCommand):
    help = (
        "Serve the dashboard (HTTP + WebSocket) with uvicorn or daphne, in one or several worker "
        "processes; runs the listener in-process if configured."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default=settings.DASHBOARD_HOST,
            help="default: DASHBOARD_HOST, else 127.0.0.1",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.DASHBOARD_PORT,
            help="default: DASHBOARD_PORT, else 8000",
        )
        parser.add_argument(
            "--simulate",
            type=float,
            default=0,
            help="also run the hospital simulator at this many changes per second",
        )
        parser.add_argument(
            "--server",
            choices=["daphne", "uvicorn"],
            default=settings.DASHBOARD_SERVER,
            help="the ASGI server (default: DASHBOARD_SERVER, else uvicorn)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="server processes sharing the port (default: DASHBOARD_WORKERS, else one per "
            "core with REDIS_URL and one without)",
        )
        parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument(
            "--listener",
            choices=["auto", "on", "off"],
            default="auto",
            help="run the change-stream listener in this process (auto: DASHBOARD_LISTENER_IN_PROCESS)",
        )

    def handle(self, *args, host, port, simulate, listener, server, workers, worker, **options):
        logging.getLogger("dashboard").setLevel(logging.INFO)
        require_engines("serve")
        workers = (
            workers
            or settings.DASHBOARD_WORKERS
            or (os.cpu_count() or 1 if redis_configured() else 1)
        )
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if workers > 1 and not redis_configured():
            raise CommandError(
                "several workers need REDIS_URL: without it the channel layer lives inside one "
                "process. Use --workers 1, or set REDIS_URL."
            )
        address = settings.DASHBOARD_PUBLIC_ADDRESS or f"{host}:{port}"
        if workers > 1 and not worker:
            self._supervise(host, port, simulate, listener, server, workers, address)
            return
        run_listener = (
            settings.DASHBOARD_LISTENER_IN_PROCESS if listener == "auto" else listener == "on"
        )
        simulator = self._start_simulator(simulate) if simulate > 0 else None
        banner = _banner(host, port)  # read before the loop starts: it asks the database
        process = _ServingProcess(
            address=address,
            worker=worker,
            run_listener=run_listener,
            simulator=simulator,
            banner=lambda: self._say(banner),
        )
        from live.servers import Serving, run_daphne, run_uvicorn

        run = run_uvicorn if server == "uvicorn" else run_daphne
        try:
            run(Serving(host, port, process.ready, process.shutdown, reuse_port=worker))
        finally:
            process.finish()

    def _say(self, text: str) -> None:
        self.stdout.write(text, ending="\n")
        self.stdout.flush()

    def _supervise(self, host, port, simulate, listener, server, workers, address) -> None:
        from live.workers import Supervisor, worker_command

        base = ["--host", host, "--port", str(port), "--server", server, "--listener", listener]
        simulator = self._start_simulator(simulate) if simulate > 0 else None
        self.stdout.write(f"{_banner(host, port)}\n{workers} {server} workers")
        self.stdout.flush()
        try:
            Supervisor(worker_command(base), workers).run(address)
        finally:
            _stop_simulator(simulator)

    def _start_simulator(self, rate: float) -> subprocess.Popen:
        self.stdout.write(f"Simulator: {rate:g} changes per second")
        return subprocess.Popen(python_command("simulate", "--rate", str(rate)))


class _ServingProcess:
    """What one serving process starts once its server accepts connections (the hub, its
    announcement in the registry, the listener if it runs here) and stops before the end."""

    def __init__(
        self,
        *,
        address: str,
        worker: bool,
        run_listener: bool,
        simulator: subprocess.Popen | None,
        banner: Callable[[], None],
    ) -> None:
        self.address = address
        self.worker = worker  # one of several: its supervisor announces the instance
        self.run_listener = run_listener
        self.simulator = simulator
        self.banner = banner
        self.listener: ChangeListener | None = None
        self.listener_task: asyncio.Task | None = None
        self.heartbeat: asyncio.Task | None = None

    def ready(self) -> None:
        from live.hub import hub

        loop = asyncio.get_event_loop()
        loop.create_task(hub.start())
        if self.worker:
            from live.board import heartbeat_forever, instance_board, worker_index

            self.heartbeat = loop.create_task(heartbeat_forever(instance_board(), worker_index()))
        if redis_configured() and not self.worker:
            from live.admission import admission
            from live.registry import announce_forever

            loop.create_task(announce_forever(self.address, lambda: admission.active))
        if self.run_listener:
            from live.listener import build_listener

            self.listener = build_listener()
            self.listener_task = loop.create_task(self.listener.run())
        if not self.worker:
            self.banner()
            loop.call_later(BANNER_AGAIN_SECONDS, self.banner)

    async def shutdown(self) -> None:
        """Inside the loop, before it stops: the listener flushes, saves its checkpoint and
        releases its lease (a standby takes over at once); the simulator stops."""
        listener, self.listener = self.listener, None
        if listener is not None and self.listener_task is not None:
            listener.stop()
            try:
                await asyncio.wait_for(self.listener_task, 10)
            except Exception as exc:
                logger.warning("listener did not stop cleanly: %s", exc)
        _stop_simulator(self.simulator)

    def finish(self) -> None:
        """After the server: what shutdown() did not get to (the loop ended first)."""
        if self.listener is not None:
            self.listener.stop()
        _stop_simulator(self.simulator)


def _stop_simulator(simulator: subprocess.Popen | None) -> None:
    if simulator is not None and simulator.poll() is None:
        simulator.send_signal(signal.SIGTERM)
        try:
            simulator.wait(timeout=5)
        except subprocess.TimeoutExpired:
            simulator.kill()


def _banner(host: str, port: int) -> str:
    """The address, and in demo mode (DEBUG) the demo logins that exist."""
    lines = [f"Dashboard: http://{host}:{port}/"]
    if settings.DEBUG:
        from django.contrib.auth import get_user_model
        from django.db import DatabaseError

        from accounts.demo import DEMO_USERS

        names = {user.username for user in DEMO_USERS}
        try:
            present = set(
                get_user_model()
                .objects.filter(username__in=names, is_active=True)
                .values_list("username", flat=True)
            )
        except DatabaseError:  # not migrated yet: no logins to show
            present = set()
        logins = [f"{u.username} / {u.password}" for u in DEMO_USERS if u.username in present]
        if logins:
            lines.append("Demo logins: " + ", ".join(logins))
    return "\n".join(lines)
