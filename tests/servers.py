"""Real servers for end-to-end tests: `manage.py serve` (daphne) in a subprocess on a free port."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_PASSWORDS = {"superadmin": "superadmin-demo", "admin": "admin-demo", "viewer": "viewer-demo"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def server_env(
    workdir: Path,
    store_path: str,
    database_path: Path | None = None,
    database_url: str | None = None,
) -> dict[str, str]:
    """A server process's environment: this one without the project's settings, plus its own
    database (a SQLite file, or `database_url`) and the given hospital store file."""
    database = database_path or workdir / "dashboard.sqlite3"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "REDIS_", "MONGODB_", "DATABASE_", "DASHBOARD_"))
    }
    env.update(
        {
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": database_url or f"sqlite:///{database}",
            "EMBEDDED_STORE_PATH": store_path,
            "DASHBOARD_VAR_DIR": str(workdir / "var"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# Migrated databases with the demo users, one per set of overrides, built once per test process:
# each server starts from a copy instead of running migrate and create_demo_users again.
_TEMPLATES: dict[tuple, Path] = {}


def prepare_database(env: dict[str, str], overrides: dict[str, str], database_url: str | None):
    """Django's database for a server: migrated, with the demo users. A new SQLite file is a copy
    of this process's template (the same commands, run once); an existing file or another
    database gets the commands themselves."""
    url = env["DATABASE_URL"]
    target = Path(url.removeprefix("sqlite:///"))
    if database_url is not None or not url.startswith("sqlite:///") or target.exists():
        manage("migrate", "--noinput", env=env)
        manage("create_demo_users", env=env)
        return
    key = tuple(sorted(overrides.items()))
    template = _TEMPLATES.get(key)
    if template is None or not template.exists():
        directory = Path(tempfile.mkdtemp(prefix="dashboard-template-"))
        atexit.register(shutil.rmtree, directory, True)
        template = directory / "dashboard.sqlite3"
        template_env = {**env, "DATABASE_URL": f"sqlite:///{template}"}
        manage("migrate", "--noinput", env=template_env)
        manage("create_demo_users", env=template_env)
        _TEMPLATES[key] = template
    source, copy = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(copy)  # a consistent copy, whatever the journal mode left behind
    finally:
        source.close()
        copy.close()


class LiveServer:
    """A dashboard server process with its own Django database and a given hospital store file."""

    def __init__(self, workdir: Path, store_path: str, port: int, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.store_path = store_path
        self.port = port
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / f"server-{port}.log"

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        store_path: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        listener: str = "auto",
        database_path: Path | None = None,
        database_url: str | None = None,
        prepare: bool = True,
        serve_args: tuple[str, ...] = (),
        entry: tuple[str, ...] = ("manage.py",),
    ) -> LiveServer:
        workdir.mkdir(parents=True, exist_ok=True)
        base = server_env(workdir, store_path, database_path, database_url)
        base.update(env or {})
        server = cls(workdir, store_path, port or free_port(), base)
        server.listener = listener
        server.serve_args = serve_args
        server.entry = entry  # the script (and its options) that runs `serve`
        if prepare:
            prepare_database(base, env or {}, database_url)
        server.launch()
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/dashboard/"

    def launch(self, timeout: float = 30.0) -> None:
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [
                sys.executable,
                *self.entry,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--listener",
                self.listener,
                *self.serve_args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/health/live/", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.launch()

    def seed(self, *args: str) -> str:
        return manage("seed_demo", *args, env=self.env)

    def log(self, tail: int | None = 5000) -> str:
        """The server's log: its last `tail` characters (None: all of it)."""
        try:
            text = self.log_path.read_text()
            return text if tail is None else text[-tail:]
        except OSError:
            return ""

    def health(self) -> dict:
        """GET /health/: its JSON body, whatever the status (503 when degraded)."""
        import json

        try:
            with urllib.request.urlopen(self.url + "/health/", timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def token(self, username: str) -> str:
        """An access token for a demo user, through the real login endpoint."""
        return self.login(username, DEMO_PASSWORDS[username])

    def login(self, username: str, password: str) -> str:
        """An access token through the real login endpoint."""
        import json

        body = json.dumps({"username": username, "password": password}).encode()
        request = urllib.request.Request(
            self.url + "/api/auth/token/", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["access"]


# --- Django's database for servers: a SQLite file, or PostgreSQL when the tests run on it ----------
POSTGRES_SCHEMES = ("postgres", "postgresql")


def tests_postgres_url() -> str | None:
    """The PostgreSQL server this test run uses (its DATABASE_URL), or None on SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    return url if urllib.parse.urlsplit(url).scheme in POSTGRES_SCHEMES else None


@contextmanager
def server_database(workdir: Path) -> Iterator[str]:
    """A DATABASE_URL of its own for a server a test starts.

    A SQLite file in `workdir`; or, when the tests run on PostgreSQL, a new
    database on that server, dropped (connections and all) afterwards.
    """
    base = tests_postgres_url()
    if base is None:
        yield f"sqlite:///{workdir / 'dashboard.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(base)
    name = f"test_server_{uuid.uuid4().hex[:16]}"
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def database_rows(database_url: str, query: str) -> list[tuple]:
    """Rows of a query (no parameters) on a server's database, read beside the server."""
    parts = urllib.parse.urlsplit(database_url)
    if parts.scheme in POSTGRES_SCHEMES:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as connection:
            return connection.execute(query).fetchall()
    # As dj_database_url reads it: sqlite:////abs/path is the file /abs/path. In WAL mode a
    # reader never blocks the server's writers.
    connection = sqlite3.connect(parts.path[1:], timeout=10)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()
