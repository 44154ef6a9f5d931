"""Admins work while the dashboard runs: a real server with its listener and the simulator at
50 changes/s, and meanwhile user commands, Django admin saves, token rounds over REST and
alert acknowledgements over the WebSocket.

Django's database is the server's own SQLite file, or its own PostgreSQL database when the
tests run on PostgreSQL (`make test` runs this module both ways).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from websockets.sync.client import connect

from metrics import store
from tests.admin_http import AdminSession
from tests.servers import (
    DEMO_PASSWORDS,
    ROOT,
    LiveServer,
    database_rows,
    manage,
    server_database,
    server_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.database]

ROUNDS = 10
REFRESHES_AT_ONCE = 8
# Many logins from one address in a minute here; the throttle has its own tests.
GENEROUS_LOGIN_RATES = {
    "DASHBOARD_LOGIN_RATE_IP": "1000/min",
    "DASHBOARD_LOGIN_RATE_USER": "1000/min",
}
CHECKPOINT_QUERY = "SELECT name, resume_token, updated_at FROM live_listenercheckpoint"
ADMIN_CHANGES = [("admin", ["ER"]), ("viewer", ["CARD", "NEURO"]), ("admin", ["ICU", "ONC", "ER"])]
# A Django admin account of its own: create_demo_users, run meanwhile, resets the demo users'
# passwords, which would end a demo user's admin session.
BOSS, BOSS_PASSWORD = "boss", "boss-long-password-1"
EDITED, EDITED_START = "editor", ("admin", ["CARD", "ER"])


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory):
    """`manage.py serve` with the in-process listener and `--simulate 50`, on a seeded hospital."""
    workdir = tmp_path_factory.mktemp("busy")
    store_path = str(workdir / "hospital-store.sqlite3")
    with server_database(workdir) as database_url:
        env = {**server_env(workdir, store_path, database_url=database_url), **GENEROUS_LOGIN_RATES}
        manage("migrate", "--noinput", env=env)
        manage("create_demo_users", env=env)
        manage("seed_demo", "--patients", "300", env=env)
        manage(
            "createsuperuser",
            "--noinput",
            "--username",
            BOSS,
            "--email",
            "boss@example.org",
            env={**env, "DJANGO_SUPERUSER_PASSWORD": BOSS_PASSWORD},
        )
        level, codes = EDITED_START
        manage(
            "create_dashboard_user",
            EDITED,
            "--level",
            level,
            "--departments",
            ",".join(codes),
            env=env,
        )
        server = LiveServer.start(
            workdir,
            store_path=store_path,
            env=GENEROUS_LOGIN_RATES,
            database_url=database_url,
            listener="on",
            prepare=False,
            serve_args=("--simulate", "50"),
        )
        try:
            wait_for(lambda: checkpoint(database_url) is not None, 60, "a first checkpoint")
            yield server, database_url
        finally:
            server.stop()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s")


def checkpoint(database_url: str) -> tuple | None:
    """The listener's checkpoint as its server saved it (resume token and time), or None."""
    rows = database_rows(database_url, CHECKPOINT_QUERY)
    return tuple(str(value) for value in rows[0]) if rows else None


def post_json(server: LiveServer, path: str, body: dict) -> tuple[int, dict | None]:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def login(server: LiveServer, username: str) -> dict:
    status, body = post_json(
        server, "/api/auth/token/", {"username": username, "password": DEMO_PASSWORDS[username]}
    )
    assert status == 200, body
    return body


class CheckpointWatch(threading.Thread):
    """Reads the checkpoint every 0.25 s and keeps the moments at which it moved."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.moves: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        last = checkpoint(self.database_url)
        while not self.halt.wait(0.25):
            current = checkpoint(self.database_url)
            if current != last:
                self.moves.append(time.monotonic())
                last = current


def user_command(server: LiveServer, index: int) -> subprocess.CompletedProcess:
    """`create_dashboard_user clerk<index>`, and every fourth time `create_demo_users` as well."""
    if index < 0:
        args = ["create_demo_users"]
    else:
        args = ["create_dashboard_user", f"clerk{index}", "--level", "viewer"]
        args += ["--departments", "ER,CARD", "--password", f"clerk-{index}-long-password"]
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PROFILE_LEVEL, PROFILE_DEPARTMENTS = "dashboard_profile-0-level", "dashboard_profile-0-departments"


def admin_saves(server: LiveServer, user_id: int) -> list[tuple[str, list[str]]]:
    """Save a user's level and departments ROUNDS times through the admin's user page.

    Each save posts the page's form back with only those two fields changed. Returns what
    each read of the page showed: the state before the first save, then after each save.
    """
    session = AdminSession(server.url)
    session.login(BOSS, BOSS_PASSWORD)
    path = f"/admin/auth/user/{user_id}/change/"
    shown = []
    for index in range(ROUNDS + 1):
        fields = session.change_form(path, "user_form")
        shown.append((dict(fields)[PROFILE_LEVEL], profile_departments(fields)))
        if index == ROUNDS:
            break
        level, codes = ADMIN_CHANGES[index % len(ADMIN_CHANGES)]
        fields = [f for f in fields if f[0] not in (PROFILE_LEVEL, PROFILE_DEPARTMENTS)]
        fields += [(PROFILE_LEVEL, level), ("_save", "Save")]
        fields += [(PROFILE_DEPARTMENTS, code) for code in codes]
        url, page = session.post_form(path, fields)
        assert url.endswith("/admin/auth/user/"), f"save {index} was refused:\n{page[-3000:]}"
    return shown


def profile_departments(fields: list[tuple[str, str]]) -> list[str]:
    return sorted(value for name, value in fields if name == PROFILE_DEPARTMENTS)


def token_rounds(server: LiveServer) -> None:
    """Log in, refresh, log out with the new refresh token; the old and the revoked are refused."""
    for _ in range(ROUNDS):
        first = login(server, "viewer")
        status, second = post_json(
            server, "/api/auth/token/refresh/", {"refresh": first["refresh"]}
        )
        assert status == 200, second
        status, body = post_json(server, "/api/auth/logout/", {"refresh": second["refresh"]})
        assert status == 204, body
        for used in (first["refresh"], second["refresh"]):
            status, body = post_json(server, "/api/auth/token/refresh/", {"refresh": used})
            assert (status, body["code"]) == (401, "invalid_token")


def open_emergencies(count: int) -> list[str]:
    """Open emergencies written into the hospital store (the test points it at the server's
    file); their alert ids."""
    now = dt.datetime.now(dt.UTC)
    departments = ["ER", "CARD", "NEURO", "ICU"]
    documents = [
        {
            "patientId": f"ack-{index}",
            "departmentId": departments[index % len(departments)],
            "stage": "triage",
            "priority": "emergency",
            "startedAt": now,
            "updatedAt": now,
            "resolvedAt": None,
            "isActive": True,
        }
        for index in range(count)
    ]
    return [str(i) for i in store.get_database().workflows.insert_many(documents).inserted_ids]


def acknowledge(server: LiveServer, alert_ids: list[str]) -> list[tuple[str, str]]:
    """Acknowledge each alert over a real WebSocket as the super admin: (alert id, outcome).

    Like any client it keeps to the socket's rate limit: after `rate_limited` it waits
    `retryAfter` seconds and sends the same request again.
    """
    token = login(server, "superadmin")["access"]
    outcomes = []
    deadline = time.monotonic() + 240
    with connect(server.ws_url, origin=server.url, open_timeout=60) as ws:
        ws.send(json.dumps({"type": "authenticate", "token": token}))
        for index, alert_id in enumerate(alert_ids):
            request = {
                "type": "acknowledge_alert",
                "alertId": alert_id,
                "requestId": f"ack-{index}",
            }
            ws.send(json.dumps(request))
            while True:
                assert time.monotonic() < deadline, f"no answer to {request}"
                reply = json.loads(ws.recv(timeout=60))
                if reply.get("code") == "rate_limited":
                    time.sleep(reply["retryAfter"])
                    ws.send(json.dumps(request))
                elif reply.get("requestId") == request["requestId"]:
                    outcomes.append((alert_id, reply.get("code") or reply["type"]))
                    break
    return outcomes


def refresh_at_once(server: LiveServer, refresh: str, count: int) -> list[tuple[int, dict]]:
    """`count` refreshes of one token, sent together (released by one barrier)."""
    start = threading.Barrier(count)

    def rotate(_):
        start.wait()
        return post_json(server, "/api/auth/token/refresh/", {"refresh": refresh})

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(rotate, range(count)))


def test_concurrent_refreshes_of_one_token_give_one_200_and_the_rest_401(busy_server):
    server, _ = busy_server
    for _ in range(5):
        refresh = login(server, "viewer")["refresh"]
        answers = refresh_at_once(server, refresh, REFRESHES_AT_ONCE)
        assert sorted(status for status, _ in answers) == [200] + [401] * (REFRESHES_AT_ONCE - 1)
        assert {body["code"] for status, body in answers if status == 401} == {"invalid_token"}
    assert "Traceback" not in server.log_path.read_text()


def test_admins_work_while_the_dashboard_runs(busy_server, settings):
    server, database_url = busy_server
    [(edited_id,)] = database_rows(
        database_url, f"SELECT id FROM auth_user WHERE username = '{EDITED}'"
    )
    settings.EMBEDDED_STORE_PATH = server.store_path
    store.reset_client()
    alert_ids = open_emergencies(ROUNDS)
    # clerk0..clerk9, with create_demo_users (-1) after every fourth
    commands_run = [i for n in range(ROUNDS) for i in ((n, -1) if n % 4 == 3 else (n,))]
    watch = CheckpointWatch(database_url)
    watch.start()
    started = time.monotonic()
    with ThreadPoolExecutor(4) as commands, ThreadPoolExecutor(3) as clients:
        admin = clients.submit(admin_saves, server, int(edited_id))
        rounds = clients.submit(token_rounds, server)
        acknowledged = clients.submit(acknowledge, server, alert_ids)
        results = list(commands.map(lambda i: user_command(server, i), commands_run))
        shown = admin.result()
        rounds.result()
        outcomes = acknowledged.result()
    finished = time.monotonic()
    # After the work the checkpoint still moves (the simulator keeps writing).
    moves_before = len(watch.moves)
    wait_for(lambda: len(watch.moves) > moves_before, 30, "checkpoint move after the work")
    watch.halt.set()
    watch.join()

    failed = [(r.returncode, r.stderr[-500:]) for r in results if r.returncode != 0]
    assert not failed
    created = [r for i, r in zip(commands_run, results, strict=True) if i >= 0]
    assert all("Created user 'clerk" in r.stdout for r in created)
    demo_runs = [r for i, r in zip(commands_run, results, strict=True) if i < 0]
    assert len(demo_runs) == ROUNDS // 4
    assert all("Demo users ready" in r.stdout for r in demo_runs)
    rows = database_rows(
        database_url,
        "SELECT u.username, p.level FROM auth_user u JOIN accounts_dashboardprofile p "
        "ON p.user_id = u.id WHERE u.username LIKE 'clerk%'",
    )
    assert sorted(rows) == sorted((f"clerk{i}", "viewer") for i in range(ROUNDS))

    # Each page read shows what the save before it wrote.
    expected = [(level, sorted(codes)) for level, codes in ADMIN_CHANGES]
    assert shown[0] == EDITED_START
    assert shown[1:] == [expected[i % len(expected)] for i in range(ROUNDS)]

    # Each acknowledgement was recorded, bar an alert the simulator resolved in between.
    assert {outcome for _, outcome in outcomes} <= {"alert_acknowledged", "alert_not_found"}
    done = {alert_id for alert_id, outcome in outcomes if outcome == "alert_acknowledged"}
    assert len(done) >= ROUNDS // 2
    recorded = database_rows(database_url, "SELECT alert_id FROM metrics_alertacknowledgement")
    assert done <= {alert_id for (alert_id,) in recorded}

    # The listener went on checkpointing all along: never still for long while the work ran
    # (15 s: more than twice the longest pause seen on a loaded two-core machine, less than
    # the 20 s busy timeout after which a waiting writer would fail).
    during = [started] + [t for t in watch.moves if started <= t <= finished] + [finished]
    assert len(during) > 5
    assert max(b - a for a, b in zip(during, during[1:], strict=False)) < 15
    log = server.log_path.read_text()
    assert "database is locked" not in log
    assert "listener error" not in log
    assert "Traceback" not in log
