"""The real stack of one benchmark run, every part its own process on 127.0.0.1.

A fresh directory holds the run's Django database (DATABASE_URL) and hospital
store (EMBEDDED_STORE_PATH); Redis is shared, so the run's keys and channels
carry a prefix of their own (DASHBOARD_CHANNEL_PREFIX), deleted at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from .procs import PYTHON, ROOT, Child, Children, child_setup, free_port, manage, wait_for_port

DEMO_LOGIN = ("superadmin", "superadmin-demo")
_SCRUBBED = ("DJANGO_", "REDIS_", "MONGODB_", "DATABASE_", "DASHBOARD_", "EMBEDDED_")


class Server:
    """A server process: the dashboard or the bare consumer, under daphne or uvicorn."""

    def __init__(self, app: str, kind: str, port: int, child: Child) -> None:
        self.app = app
        self.kind = kind
        self.port = port
        self.child = child

    @property
    def name(self) -> str:
        return self.child.name

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def ws_url(self) -> str:
        path = "/ws/dashboard/" if self.app == "dashboard" else "/ws/bare/"
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Stack:
    def __init__(
        self,
        workdir: Path,
        children: Children,
        *,
        redis_url: str,
        max_connections: int,
        slow_socket_seconds: float | None = None,
        audit: bool = True,
        log=print,
    ) -> None:
        self.workdir = workdir
        self.children = children
        self.redis_url = redis_url
        self.prefix = f"bench-{os.getpid()}-{secrets.token_hex(3)}"
        self.log = log
        base = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
        base.update(
            {
                "DJANGO_DEBUG": "false",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                # Production settings on loopback: the embedded store on purpose, no TLS proxy.
                "DASHBOARD_EMBEDDED": "true",
                "DASHBOARD_HTTPS": "false",
                "DATABASE_URL": f"sqlite:///{workdir / 'dashboard.sqlite3'}",
                "EMBEDDED_STORE_PATH": str(workdir / "hospital.sqlite3"),
                "DASHBOARD_VAR_DIR": str(workdir / "var"),
                "REDIS_URL": redis_url,
                "DASHBOARD_CHANNEL_PREFIX": self.prefix,
                "DASHBOARD_MAX_CONNECTIONS": str(max_connections),
                # The generators open up to 2 x 50 sockets at once before each signs in.
                "DASHBOARD_MAX_UNAUTHENTICATED": "200",
                # Every simulated dashboard is one account from one address: the fair shares
                # would stop the run at the tenth socket.
                "DASHBOARD_MAX_SOCKETS_PER_USER": str(max_connections),
                "DASHBOARD_MAX_SOCKETS_PER_ADDRESS": str(max_connections),
                "DASHBOARD_MAX_WAITING_PER_ADDRESS": "200",
                # One login serves the whole run; the default 5-minute token would expire midway.
                "DASHBOARD_ACCESS_TOKEN_MINUTES": "240",
                "DASHBOARD_LISTENER_METRICS_PORT": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        # The audit trail (docs/audit.md), on as in production unless `--audit off`.
        base["DASHBOARD_AUDIT_ENABLED"] = "true" if audit else "false"
        if slow_socket_seconds is not None:
            base["DASHBOARD_SLOW_SOCKET_SECONDS"] = str(slow_socket_seconds)
        self.env = base
        self.token: str | None = None
        self.listener_pid: int | None = None

    # --- data -------------------------------------------------------------------------------------
    def prepare(self, marker_staff: int | None) -> dict:
        """Migrate, create the demo users, seed the demo hospital and the marker staff (None:
        no markers, as the fan-out alone needs none)."""
        timings = {}
        for name, args in (
            ("migrate", ("migrate", "--noinput")),
            ("create_demo_users", ("create_demo_users", "--force")),
            # The size the benchmark's figures were taken at (docs/bench-load.md).
            ("seed_demo", ("seed_demo", "--patients", "3000")),
        ):
            started = time.monotonic()
            manage(*args, env=self.env)
            timings[name] = round(time.monotonic() - started, 1)
        if marker_staff is None:
            return timings
        started = time.monotonic()
        self.run_module("bench.load.writer", "prepare", "--staff", str(marker_staff))
        timings["marker_staff"] = round(time.monotonic() - started, 1)
        return timings

    def run_module(self, module: str, *args: str, timeout: float = 300) -> None:
        result = subprocess.run(
            [PYTHON, "-m", module, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            preexec_fn=child_setup,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{module} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )

    # --- processes --------------------------------------------------------------------------------
    def start_dashboard(
        self, kind: str, name: str, workers: int | None = None, fed: bool = False
    ) -> Server:
        """`manage.py serve` (its own workers: one per core unless `workers` says otherwise).
        `fed`: no listener runs, the fan-out's publisher feeds the hubs."""
        port = free_port()
        env = {**self.env, "DASHBOARD_INSTANCE_ID": name}
        if fed:
            # Without a listener's heartbeat the hubs would call the listener down after 15 s
            # and poll the store; a polled value carries the store's position, newer than the
            # publisher's next values, which the never-older rule would then hold back.
            env["DASHBOARD_LISTENER_STALE_SECONDS"] = "86400"
        argv = [
            PYTHON,
            "manage.py",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--listener",
            "off",
            "--server",
            kind,
            *(["--workers", str(workers)] if workers else []),
        ]
        child = self.children.start(name, argv, env)
        wait_for_port(port, child)
        _wait_http(f"http://127.0.0.1:{port}/health/live/", child)
        return Server("dashboard", kind, port, child)

    def start_bare(self, kind: str, name: str) -> Server:
        port = free_port()
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
        if kind == "daphne":
            argv = [
                PYTHON,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "bench.bare.asgi:application",
            ]
        else:
            argv = _uvicorn_argv("bench.bare.asgi:application", port)
        child = self.children.start(name, argv, env)
        wait_for_port(port, child)
        return Server("bare", kind, port, child)

    def start_listener(self, timeout: float = 60.0) -> Child:
        """`manage.py watch_changes`; returns once it has taken the lease and resynced."""
        # DEBUG: a log line per flush, which the report reads (INFO has one every 30 s).
        child = self.children.start(
            "listener",
            [PYTHON, "manage.py", "watch_changes", "--metrics-port", "0"],
            {**self.env, "DASHBOARD_LOG_LEVEL": "DEBUG"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"the listener exited:\n{child.log_tail()}")
            if "full resync" in child.log_tail(20000):
                time.sleep(1.0)  # the resync's broadcasts go out
                self.listener_pid = child.pid
                return child
            time.sleep(0.2)
        raise RuntimeError(
            f"the listener did not start within {timeout:.0f} s:\n{child.log_tail()}"
        )

    def start_simulator(self, rate: float, duration: float) -> Child:
        return self.children.start(
            "simulator",
            [PYTHON, "manage.py", "simulate", "--rate", str(rate), "--duration", str(duration)],
            self.env,
        )

    def login(self, server: Server) -> str:
        """One REST login for the whole run (the access token is shared by every client)."""
        username, password = DEMO_LOGIN
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/auth/token/",
            method="POST",
            data=json.dumps({"username": username, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            self.token = json.load(response)["access"]
        return self.token

    def warm_up(self, server: Server) -> None:
        """One full client session (authenticate, subscribe, updates), so the server has loaded
        everything a connection needs before its idle memory is read."""
        from websockets.sync.client import connect

        from metrics.catalogue import LIVE_METRICS

        with connect(server.ws_url, origin=server.origin, compression=None, open_timeout=30) as ws:
            ws.send(json.dumps({"type": "authenticate", "token": self.token}))
            ws.send(json.dumps({"type": "subscribe_metrics", "metrics": list(LIVE_METRICS)}))
            pending = set(LIVE_METRICS)
            deadline = time.monotonic() + 30
            while pending and time.monotonic() < deadline:
                message = json.loads(ws.recv(timeout=30))
                if message.get("type") == "dashboard_update":
                    pending.discard(message["metric"])
                elif message.get("type") in ("auth_error", "error"):
                    raise RuntimeError(f"warm-up refused by {server.name}: {message}")

    # --- cleaning up ----------------------------------------------------------------------------------
    def forget_redis_keys(self) -> int:
        """Delete the run's keys (cache entries, lease, registry) from the shared Redis."""
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"*{self.prefix}*", count=1000))
            for offset in range(0, len(keys), 500):
                client.delete(*keys[offset : offset + 500])
            return len(keys)
        finally:
            client.close()

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _uvicorn_argv(app: str, port: int) -> list[str]:
    """The bare consumer under uvicorn, configured as `manage.py serve --server uvicorn` is."""
    return [
        PYTHON,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--ws-per-message-deflate",
        "false",
        "--ws-ping-interval",
        "20",
        "--ws-ping-timeout",
        "30",
    ]


def _wait_http(url: str, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{child.log_tail()}")
