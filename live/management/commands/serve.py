"""`manage.py serve`: the dashboard under daphne (or uvicorn), the listener in-process where configured.

Each instance runs this command; with REDIS_URL the listener usually runs
apart (`watch_changes`), and without it (the demo, a single instance) it runs
here (DASHBOARD_LISTENER_IN_PROCESS). daphne is the default server; uvicorn
(`--server uvicorn` or DASHBOARD_SERVER) serves the same application with a
lower fan-out latency (bench/README.md).
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
# Start-up logs a screenful (the listener's first resync, the simulator): say where to go again
# once it has settled, so the address and logins are on screen when someone looks.
BANNER_AGAIN_SECONDS = 8


class Command(BaseCommand):
    help = "Serve the dashboard (HTTP + WebSocket) with daphne; runs the listener in-process if configured."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
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
            help="the ASGI server (default: DASHBOARD_SERVER, else daphne)",
        )
        parser.add_argument(
            "--listener",
            choices=["auto", "on", "off"],
            default="auto",
            help="run the change-stream listener in this process (auto: DASHBOARD_LISTENER_IN_PROCESS)",
        )

    def handle(self, *args, host, port, simulate, listener, server, **options):
        logging.getLogger("dashboard").setLevel(logging.INFO)
        run_listener = (
            settings.DASHBOARD_LISTENER_IN_PROCESS if listener == "auto" else listener == "on"
        )
        simulator = self._start_simulator(simulate) if simulate > 0 else None
        started: dict = {}
        banner = _banner(host, port)

        def say_banner():
            self.stdout.write(banner, ending="\n")
            self.stdout.flush()

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
                started["listener_task"] = loop.create_task(started["listener"].run())
            say_banner()
            loop.call_later(BANNER_AGAIN_SECONDS, say_banner)

        async def shutdown():
            """Inside the loop, before it stops: the listener flushes, saves its checkpoint and
            releases its lease (a standby takes over at once); the simulator stops."""
            listener = started.pop("listener", None)
            if listener is not None:
                listener.stop()
                try:
                    await asyncio.wait_for(started["listener_task"], 10)
                except Exception as exc:
                    logger.warning("listener did not stop cleanly: %s", exc)
            stop_simulator()

        def stop_simulator():
            if simulator is not None and simulator.poll() is None:
                simulator.send_signal(signal.SIGTERM)
                try:
                    simulator.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    simulator.kill()

        run = run_uvicorn if server == "uvicorn" else run_daphne
        try:
            run(host, port, ready, shutdown)
        finally:
            if "listener" in started:  # the loop ended before shutdown() ran
                started["listener"].stop()
            stop_simulator()

    def _start_simulator(self, rate: float) -> subprocess.Popen:
        self.stdout.write(f"Simulator: {rate:g} changes per second")
        return subprocess.Popen(
            [sys.executable, "manage.py", "simulate", "--rate", str(rate)],
            cwd=settings.BASE_DIR,
            env=os.environ.copy(),
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


def run_daphne(host: str, port: int, ready, shutdown) -> None:
    from daphne.server import Server  # installs Twisted's asyncio reactor
    from twisted.internet import defer, reactor

    from dashboard_project.asgi import application

    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: defer.Deferred.fromFuture(asyncio.ensure_future(shutdown()))
    )
    Server(
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
    ).run()


def run_uvicorn(host: str, port: int, ready, shutdown) -> None:
    import uvicorn

    from dashboard_project.asgi import application

    class DashboardServer(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            ready()

        async def shutdown(self, sockets=None) -> None:
            await shutdown()
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        lifespan="off",  # the ASGI router has no lifespan handler; startup() does its work
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        # No permessage-deflate: it would compress the same broadcast frame once per socket
        # and undo serializing it once.
        ws_per_message_deflate=False,
        ws_max_size=1024 * 1024,  # as daphne; the consumer itself refuses frames over 16 KiB
        ws_ping_interval=20,
        ws_ping_timeout=30,
        timeout_graceful_shutdown=5,
        access_log=False,
        log_level="warning",
    )
    DashboardServer(config).run()
