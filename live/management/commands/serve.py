"""`manage.py serve`: daphne serving the dashboard, with the listener in-process where configured.

Production runs `daphne dashboard_project.asgi:application` plus a separate
`watch_changes`; this command is the one-process form for the demo and for
single-instance deployments (DASHBOARD_LISTENER_IN_PROCESS).
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("dashboard.serve")


class Command(BaseCommand):
    help = "Serve the dashboard (HTTP + WebSocket) with daphne; runs the listener in-process if configured."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--simulate", type=float, default=0,
            help="also run the hospital simulator at this many changes per second",
        )
        parser.add_argument(
            "--listener", choices=["auto", "on", "off"], default="auto",
            help="run the change-stream listener in this process (auto: DASHBOARD_LISTENER_IN_PROCESS)",
        )

    def handle(self, *args, host, port, simulate, listener, **options):
        from daphne.server import Server  # installs Twisted's asyncio reactor

        from dashboard_project.asgi import application

        logging.getLogger("dashboard").setLevel(logging.INFO)
        run_listener = (
            settings.DASHBOARD_LISTENER_IN_PROCESS if listener == "auto" else listener == "on"
        )
        simulator = self._start_simulator(simulate) if simulate > 0 else None
        started: dict = {}

        def ready():
            loop = asyncio.get_event_loop()
            from live.hub import hub

            loop.create_task(hub.start())
            if settings.REDIS_URL:
                from live.registry import announce_forever
                from live.runtime import slots

                address = settings.DASHBOARD_PUBLIC_ADDRESS or f"{host}:{port}"
                loop.create_task(announce_forever(address, lambda: slots.active))
            if run_listener:
                from live.listener import build_listener

                started["listener"] = build_listener()
                loop.create_task(started["listener"].run())
            self.stdout.write(f"Dashboard: http://{host}:{port}/", ending="\n")
            self.stdout.flush()

        server = Server(
            application=application,
            endpoints=[f"tcp:port={port}:interface={host}"],
            signal_handlers=True,
            ready_callable=ready,
            websocket_timeout=-1,
            # Generous handshake limits: when thousands of dashboards reconnect at once (a
            # deploy, a network blip), a busy loop must not refuse them for being slow.
            websocket_handshake_timeout=20,
            websocket_connect_timeout=60,
            ping_interval=20,
            ping_timeout=30,
            application_close_timeout=5,
        )
        try:
            server.run()
        finally:
            if "listener" in started:
                started["listener"].stop()
            if simulator is not None:
                simulator.send_signal(signal.SIGTERM)
                try:
                    simulator.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    simulator.kill()

    def _start_simulator(self, rate: float) -> subprocess.Popen:
        self.stdout.write(f"Simulator: {rate:g} changes per second")
        return subprocess.Popen(
            [sys.executable, "manage.py", "simulate", "--rate", str(rate)],
            cwd=settings.BASE_DIR,
            env=os.environ.copy(),
        )
