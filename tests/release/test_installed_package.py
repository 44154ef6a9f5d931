"""The dashboard as a hospital installs it: the wheel and the lock in a clean virtual environment.

No extra, no checkout on the path: the install lines of docs/deploy.md build the wheel
(`make dist`) and install it with `requirements/runtime.lock`, then its
production commands run verbatim from an empty directory, on Redis (a key
prefix of this test's own) with the embedded store asked for explicitly.
Everything a user meets is checked over the network: the page and every file
it loads, health with the listener, login, a socket that sees a write arrive,
Prometheus over both workers, and a clean stop.
"""

from __future__ import annotations

import asyncio
import json
import os
import posixpath
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from email.message import Message
from pathlib import Path

import pytest
import websockets

from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.redis]

HOST_NAME = "dashboard.example.org"
ADMIN, ADMIN_PASSWORD = "it-admin", "a-long-password-for-the-install-test"


def deploy_doc_block(after: str) -> list[str]:
    """The command lines of docs/deploy.md's first `sh` block after the line `after`."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    block = text.split(after, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def install_lines() -> list[str]:
    return deploy_doc_block("## Installing on a host")[:5]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A clean virtual environment holding the wheel and the locked runtime set, nothing else."""
    venv = tmp_path_factory.mktemp("release") / "dashboard"
    script = "\n".join(line.replace("/opt/dashboard", str(venv)) for line in install_lines())
    base_python = getattr(sys, "_base_executable", sys.executable)
    env = clean_env(venv)
    env["PATH"] = f"{Path(base_python).parent}:{env['PATH']}"
    subprocess.run(
        [
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script.replace("python3 -m venv", f"{base_python} -m venv"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    subprocess.run([venv / "bin" / "pip", "check"], check=True, env=env, timeout=60)
    return venv


def clean_env(venv: Path) -> dict[str, str]:
    """Only what a shell on a fresh host has, with the installed command first on the PATH."""
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    return {**keep, "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}


def production_env(venv: Path, port: int, prefix: str, redis_url: str) -> dict[str, str]:
    return {
        **clean_env(venv),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # 127.0.0.1 as the load balancer's health checks and Prometheus reach an instance.
        "DJANGO_ALLOWED_HOSTS": f"{HOST_NAME},127.0.0.1",
        "DASHBOARD_EMBEDDED": "true",
        "REDIS_URL": redis_url,
        "DASHBOARD_CHANNEL_PREFIX": prefix,
        "DASHBOARD_HOST": "127.0.0.1",
        "DASHBOARD_PORT": str(port),
        "DASHBOARD_TRUSTED_PROXIES": "127.0.0.1",
        "DASHBOARD_WORKERS": "2",
        "DASHBOARD_LISTENER_METRICS_PORT": str(free_port()),
        "DJANGO_SUPERUSER_USERNAME": ADMIN,
        "DJANGO_SUPERUSER_EMAIL": "it@example.org",
        "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
    }


class Http:
    """Requests as the TLS proxy in front passes them on (X-Forwarded-Proto: https)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, proxied: bool = True) -> tuple[int, bytes, Message]:
        return self.request(urllib.request.Request(self.base + path), proxied)

    def post_json(self, path: str, body: dict) -> tuple[int, bytes, Message]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self.request(request, True)

    def request(self, request: urllib.request.Request, proxied: bool) -> tuple[int, bytes, Message]:
        if proxied:
            request.add_header("X-Forwarded-Proto", "https")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{what} not within {timeout} s (last: {last!r})")


def linked_files(http: Http, html: str) -> set[str]:
    """Every script and stylesheet the page links, and every module those scripts import."""
    seen: set[str] = set()
    todo = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        status, body, _ = http.get(path)
        assert status == 200, (path, status)
        if path.endswith(".js"):
            folder = path.rsplit("/", 1)[0]
            for module in re.findall(r'(?:from|import)\s+"(\.\.?/[^"]+\.js)"', body.decode()):
                todo.append(posixpath.normpath(f"{folder}/{module}"))
    return seen


def started(line: str, cwd: Path, env: dict[str, str], logs: Path) -> subprocess.Popen:
    """A documented command line ending in `&`: a process of its own, its output in a log file."""
    command = line.split("#", 1)[0].strip().removesuffix("&").strip()
    log = open(logs / f"{command.split()[1]}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        ["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def test_the_documented_production_commands_serve_the_dashboard_from_the_installed_wheel(
    installed, tmp_path, redis_url
):
    workdir = tmp_path / "empty"
    workdir.mkdir()
    port = free_port()
    prefix = f"release-test-{uuid.uuid4().hex[:8]}"
    env = production_env(installed, port, prefix, redis_url)
    http = Http(port)
    processes: list[subprocess.Popen] = []
    try:
        for line in deploy_doc_block("<!-- production-commands -->"):
            if line.split("#", 1)[0].rstrip().endswith("&"):
                processes.append(started(line, workdir, env, tmp_path))
            else:
                subprocess.run(["bash", "-c", line], cwd=workdir, env=env, check=True, timeout=120)
        assert (workdir / "var" / "dashboard.sqlite3").exists()  # DASHBOARD_VAR_DIR: ./var

        wait_for(lambda: http.get("/health/live/", proxied=False)[0] == 200, 60, "the server")
        status, body, headers = http.get("/", proxied=False)
        assert status == 301 and headers.get("Location", "").startswith("https://"), (
            status,
            body[:300],
        )

        status, body, headers = http.get("/")
        assert status == 200, body[:500]
        assert "max-age=" in headers.get("Strict-Transport-Security", "")
        files = linked_files(http, body.decode())
        assert any(path.endswith(".js") for path in files)
        assert any(path.endswith(".css") for path in files)
        # The page runs on the JavaScript client the wheel ships (clients/js/), which any other
        # dashboard may load from the same place, its types beside it.
        assert "/static/client/dashboard-client.js" in files
        for name in ("dashboard-client.js", "dashboard-client.d.ts", "messages.d.ts"):
            status, served, _ = http.get(f"/static/client/{name}")
            assert status == 200 and served == (ROOT / "clients" / "js" / name).read_bytes(), name

        def healthy():
            code, payload, _ = http.get("/health/", proxied=False)
            answer = json.loads(payload)
            return (
                answer if answer["status"] == "ok" and answer["checks"]["listener"]["ok"] else None
            )

        wait_for(healthy, 60, "/health/ ok with the listener")

        status, body, _ = http.post_json(
            "/api/auth/token/", {"username": ADMIN, "password": ADMIN_PASSWORD}
        )
        assert status == 200, body
        access = json.loads(body)["access"]

        asyncio.run(sockets_see_a_write_and_both_workers(port, access, env, workdir, http))
    finally:
        exits = stop(processes)
        logs = {path.name: path.read_text() for path in tmp_path.glob("*.log")}
    assert exits == [0] * len(processes), (exits, logs)
    for name, text in logs.items():
        assert "Traceback" not in text, (name, text)


async def sockets_see_a_write_and_both_workers(
    port: int, access: str, env: dict[str, str], workdir: Path, http: Http
) -> None:
    url = f"ws://127.0.0.1:{port}/ws/dashboard/"
    origin = f"https://{HOST_NAME}"
    sockets = []
    workers: set[str] = set()
    try:
        # SO_REUSEPORT spreads connections over the workers: connect until both answered,
        # keeping one socket per worker (one account holds at most
        # DASHBOARD_MAX_SOCKETS_PER_USER, and a worker still starting gets none for a while).
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            ws = await websockets.connect(url, origin=origin, open_timeout=10)
            status = json.loads(await ws.recv())
            assert status["type"] == "connection_status"
            worker = status["instance"].rsplit("/", 1)[1]
            if worker in workers:
                await ws.close()
                await asyncio.sleep(0.1)
                continue
            sockets.append(ws)
            workers.add(worker)
            await ws.send(json.dumps({"type": "authenticate", "token": access}))
            assert json.loads(await ws.recv())["type"] == "authenticated"
        assert workers == {"0", "1"}

        for _ in range(4):  # whichever worker answers, /metrics counts the sockets of both
            _, body, _ = http.get("/metrics", proxied=False)
            active = re.search(rb"^dashboard_ws_connections_active (\S+)$", body, re.M)
            assert active is not None and float(active.group(1)) == len(sockets)

        watcher = sockets[0]
        await watcher.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
        before = await next_patient_count(watcher)
        write = (
            "from metrics.store import get_database; "
            "get_database().patients.insert_one({'mrn': 'REL-1', 'name': 'Release Test', "
            "'departmentId': 'ER', 'status': 'admitted', 'triageLevel': 3, 'isActive': True})"
        )
        await asyncio.to_thread(
            subprocess.run,
            ["hospital-dashboard", "shell", "-c", write],
            cwd=workdir,
            env=env,
            check=True,
            timeout=60,
        )
        async with asyncio.timeout(20):
            while (after := await next_patient_count(watcher)) == before:
                pass
        assert after == before + 1
    finally:
        for ws in sockets:
            await ws.close()


async def next_patient_count(ws) -> int:
    while True:
        message = json.loads(await ws.recv())
        if message["type"] == "dashboard_update" and message["metric"] == "patientCount":
            return message["data"]["total"]
        if message["type"] == "dashboard_updates":
            for update in message["updates"]:
                if update["metric"] == "patientCount":
                    return update["data"]["total"]


def stop(processes: list[subprocess.Popen]) -> list[int | None]:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    exits = []
    for process in processes:
        try:
            exits.append(process.wait(timeout=40))
        except subprocess.TimeoutExpired:
            process.kill()
            exits.append(None)
    return exits


def test_a_production_start_without_mongodb_refuses_with_one_line(installed, tmp_path):
    env = production_env(installed, free_port(), "unused", "redis://127.0.0.1:6379/0")
    del env["DASHBOARD_EMBEDDED"]
    for command in ("serve", "watch_changes"):
        result = subprocess.run(
            ["hospital-dashboard", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "MONGODB_URI" in lines[0] and "DASHBOARD_EMBEDDED" in lines[0]


def test_an_unwritable_var_dir_is_one_line(installed, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {**clean_env(installed), "DASHBOARD_VAR_DIR": str(blocker / "var")}
    result = subprocess.run(
        ["hospital-dashboard", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DASHBOARD_VAR_DIR" in lines[0], result.stderr
