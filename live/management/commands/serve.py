"""`manage.py serve`: the dashboard under uvicorn (or daphne), the listener in-process where configured.

Each instance runs this command; with REDIS_URL the listener usually runs
apart (`watch_changes`), and without it (the demo, a single instance) it runs
here (DASHBOARD_LISTENER_IN_PROCESS). uvicorn is the default server (the
faster one, docs/bench-load.md); daphne serves the same application with the
same protocol (`--server daphne` or DASHBOARD_SERVER). With REDIS_URL an
instance runs one worker process per core (`--workers`, live/sockets/workers.py).
"""

import argparse
import logging
import os
import subprocess

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from live.serving import ServingProcess, stop_simulator
from runtime.cli import python_command
from runtime.dependencies import redis_configured
from runtime.engines import require_engines


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
            "--pace",
            type=float,
            default=1.0,
            help="with --simulate: how many times busier than its usual day the hospital is "
            "(default 1)",
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

    def handle(
        self, *args, host, port, simulate, pace, listener, server, workers, worker, **options
    ):
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
            self._supervise(host, port, (simulate, pace), listener, server, workers, address)
            return
        run_listener = (
            settings.DASHBOARD_LISTENER_IN_PROCESS if listener == "auto" else listener == "on"
        )
        simulator = self._start_simulator(simulate, pace) if simulate > 0 else None
        banner = _banner(host, port)  # read before the loop starts: it asks the database
        process = ServingProcess(
            address=address,
            worker=worker,
            run_listener=run_listener,
            simulator=simulator,
            banner=lambda: self._say(banner),
        )
        from live.sockets.servers import Serving, run_daphne, run_uvicorn

        run = run_uvicorn if server == "uvicorn" else run_daphne
        try:
            run(Serving(host, port, process.ready, process.shutdown, reuse_port=worker))
        finally:
            process.finish()

    def _say(self, text: str) -> None:
        self.stdout.write(text, ending="\n")
        self.stdout.flush()

    def _supervise(self, host, port, simulation, listener, server, workers, address) -> None:
        from live.sockets.workers import Supervisor, worker_command

        base = ["--host", host, "--port", str(port), "--server", server, "--listener", listener]
        simulate, pace = simulation
        simulator = self._start_simulator(simulate, pace) if simulate > 0 else None
        self.stdout.write(f"{_banner(host, port)}\n{workers} {server} workers")
        self.stdout.flush()
        try:
            Supervisor(worker_command(base), workers).run(address)
        finally:
            stop_simulator(simulator)

    def _start_simulator(self, rate: float, pace: float) -> subprocess.Popen:
        self.stdout.write(f"Simulator: {rate:g} changes per second, the hospital at pace {pace:g}")
        return subprocess.Popen(
            python_command("simulate", "--rate", str(rate), "--pace", str(pace))
        )


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
