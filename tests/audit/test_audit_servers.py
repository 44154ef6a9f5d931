"""The audit trail over the real servers (`manage.py serve`, daphne and uvicorn): each event comes
from a real action over HTTP or a real WebSocket, and its entry is read from the server's own
database (SQLite, or PostgreSQL in the PostgreSQL pass) with the right actor, scope, address and
outcome; then `verify_audit` finds the chain intact."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import urllib.error
import urllib.request

import pytest
import websockets

from metrics import store
from tests.admin_http import AdminSession
from tests.live.test_edges_servers import api_login
from tests.servers import DEMO_PASSWORDS, LiveServer, database_rows, manage, server_database

pytestmark = [pytest.mark.slow, pytest.mark.database]

SERVERS = ["daphne", "uvicorn"]
AGENT = "audit-test-client/1.0"
COLUMNS = "seq, event, action, outcome, user_id, username, level, departments, address, "
COLUMNS += "user_agent, channel, detail"
FIELDS = [name.strip() for name in COLUMNS.split(",")]


@pytest.fixture(scope="module", params=SERVERS)
def audited(request, tmp_path_factory):
    """A server whose audit writer writes every 0.1 s and its read tallies every 2 s; 127.0.0.1
    is a trusted proxy, so a forwarded address is the client's."""
    workdir = tmp_path_factory.mktemp(f"audit-{request.param}")
    with server_database(workdir) as database_url:
        server = LiveServer.start(
            workdir,
            store_path=str(workdir / "store.sqlite3"),
            database_url=database_url,
            env={
                "DASHBOARD_SERVER": request.param,
                "DASHBOARD_TRUSTED_PROXIES": "127.0.0.1",
                "DASHBOARD_AUDIT_FLUSH_SECONDS": "0.1",
                "DASHBOARD_AUDIT_READ_FLUSH_SECONDS": "2",
            },
        )
        try:
            yield server, database_url
        finally:
            server.stop()


def entries(database_url: str) -> list[dict]:
    rows = database_rows(database_url, f"SELECT {COLUMNS} FROM audit_auditentry ORDER BY seq")
    found = []
    for row in rows:
        item = dict(zip(FIELDS, row, strict=True))
        if isinstance(item["detail"], str):
            item["detail"] = json.loads(item["detail"])
        found.append(item)
    return found


def wait_for_entries(database_url: str, match, count: int = 1, timeout: float = 15.0) -> list[dict]:
    """The entries `match` accepts, once there are at least `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        found = [item for item in entries(database_url) if match(item)]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} matching entries, {count} expected"
            return found
        time.sleep(0.2)


def wait_for_reads(database_url: str, match, total: int, timeout: float = 15.0) -> list[dict]:
    """The read entries `match` accepts, once their counts add up to at least `total`. One
    session's reads of a metric can come in more than one entry: each server process writes the
    reads it served, and open tallies become entries every DASHBOARD_AUDIT_READ_FLUSH_SECONDS."""
    deadline = time.monotonic() + timeout
    while True:
        found = [item for item in entries(database_url) if item["event"] == "read" and match(item)]
        counted = sum(item["detail"]["count"] for item in found)
        if counted >= total or time.monotonic() > deadline:
            assert counted >= total, f"{counted} reads counted, {total} expected"
            return found
        time.sleep(0.2)


def request_json(server, path, body=None, token=None, headers=None):
    all_headers = {"Content-Type": "application/json", "User-Agent": AGENT, **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def login(server, username):
    status, body = request_json(
        server,
        "/api/auth/token/",
        {"username": username, "password": DEMO_PASSWORDS[username]},
        headers={"X-Forwarded-For": "198.51.100.20"},
    )
    assert status == 200, body
    return body


def test_a_wrong_password_is_recorded_with_the_name_tried_and_the_client_address(audited):
    server, database_url = audited
    # From 127.0.0.9, no proxy: its own address; through the trusted proxy: the forwarded one.
    assert api_login(server.port, "nobody-here", "wrong", source="127.0.0.9") == 401
    assert api_login(server.port, "admin", "wrong", forwarded="203.0.113.50") == 401

    [direct] = wait_for_entries(database_url, lambda e: e["username"] == "nobody-here")
    [proxied] = wait_for_entries(
        database_url,
        lambda e: e["username"] == "admin" and e["event"] == "signin" and e["outcome"] == "failure",
    )

    assert (direct["event"], direct["action"], direct["outcome"]) == ("signin", "E", "failure")
    assert (direct["address"], direct["channel"], direct["user_id"]) == ("127.0.0.9", "api", None)
    assert direct["detail"] == {"reason": "invalid_credentials", "status": 401}
    assert proxied["address"] == "203.0.113.50"


def test_sign_in_refresh_and_sign_out_are_recorded_for_the_user(audited):
    server, database_url = audited
    pair = login(server, "viewer")
    assert request_json(server, "/api/auth/token/refresh/", {"refresh": pair["refresh"]})[0] == 200
    # The same refresh token again: blacklisted.
    assert request_json(server, "/api/auth/token/refresh/", {"refresh": pair["refresh"]})[0] == 401

    def viewer(event, outcome):
        return lambda e: (e["event"], e["outcome"], e["username"]) == (event, outcome, "viewer")

    [signin] = wait_for_entries(database_url, viewer("signin", "success"))
    [refresh] = wait_for_entries(database_url, viewer("token_refresh", "success"))
    [refused] = wait_for_entries(database_url, viewer("token_refresh", "failure"))
    assert (signin["address"], signin["user_agent"], signin["level"]) == (
        "198.51.100.20",
        AGENT,
        "viewer",
    )
    assert signin["departments"] == "*"  # a viewer without departments sees them all
    assert refresh["user_id"] == signin["user_id"]
    assert refused["detail"]["reason"] == "invalid_token"


async def socket_session(server, token: str) -> None:
    """An admin's socket: sign in, subscribe twice to one metric, a snapshot, close (1000)."""
    async with websockets.connect(
        server.ws_url, origin=server.url, user_agent_header=AGENT, open_timeout=20
    ) as ws:
        await ws.send(json.dumps({"type": "authenticate", "token": token}))
        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
        await ws.send(json.dumps({"type": "unsubscribe_metrics", "metrics": ["patientCount"]}))
        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
        await ws.send(json.dumps({"type": "request_snapshot", "requestId": "s"}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if message["type"] == "metrics_snapshot":
                break
        await asyncio.sleep(0.5)


def test_a_socket_scoped_to_two_departments_is_recorded_from_open_to_close(audited):
    server, database_url = audited
    token = login(server, "admin")["access"]
    asyncio.run(socket_session(server, token))

    [opened] = wait_for_entries(
        database_url, lambda e: e["event"] == "session_opened" and e["username"] == "admin"
    )
    session = opened["detail"]["session"]
    [closed] = wait_for_entries(
        database_url, lambda e: e["event"] == "session_closed" and e["detail"]["session"] == session
    )
    subscribed = wait_for_reads(
        database_url,
        lambda e: e["detail"]["session"] == session and e["detail"]["kind"] == "subscription",
        2,
    )
    reads = wait_for_entries(
        database_url, lambda e: e["event"] == "read" and e["detail"]["session"] == session, 2
    )

    assert (opened["departments"], opened["level"], opened["channel"]) == (
        "CARD,ER",
        "admin",
        "socket",
    )
    assert (opened["address"], opened["user_agent"]) == ("127.0.0.1", AGENT)
    assert opened["detail"]["origin"] == server.url
    assert closed["detail"]["closeCode"] == 1000
    assert closed["detail"]["durationSeconds"] > 0.4
    assert {r["detail"]["metric"] for r in subscribed} == {"patientCount"}
    assert sum(r["detail"]["count"] for r in subscribed) == 2
    snapshot = {r["detail"]["metric"] for r in reads if r["detail"]["kind"] == "snapshot"}
    assert "patientCount" in snapshot and "revenue" in snapshot
    assert all(r["departments"] == "CARD,ER" and r["action"] == "R" for r in reads)


def test_rest_reads_are_one_entry_per_token_and_metric(audited):
    server, database_url = audited
    token = login(server, "viewer")["access"]
    for _ in range(3):
        assert request_json(server, "/api/metrics/snapshot/", token=token)[0] == 200

    found = wait_for_reads(
        database_url,
        lambda e: (
            e["detail"].get("metric") == "patientCount"
            and e["channel"] == "api"
            and e["username"] == "viewer"
        ),
        3,
    )

    assert sum(e["detail"]["count"] for e in found) == 3
    assert len({e["detail"]["session"] for e in found}) == 1


def test_a_metrics_request_with_a_forged_token_is_recorded(audited):
    server, database_url = audited
    assert request_json(server, "/api/metrics/snapshot/", token="not.a.token")[0] == 401

    [refused] = wait_for_entries(
        database_url, lambda e: e["event"] == "read_refused" and e["channel"] == "api"
    )
    assert (refused["outcome"], refused["user_id"], refused["address"]) == (
        "failure",
        None,
        "127.0.0.1",
    )
    assert refused["detail"] == {"kind": "snapshot", "reason": "token_not_valid", "status": 401}


async def acknowledge(server, token: str, alert_ids: list[str]) -> list[str]:
    answers = []
    async with websockets.connect(server.ws_url, origin=server.url, open_timeout=20) as ws:
        await ws.send(json.dumps({"type": "authenticate", "token": token}))
        for index, alert_id in enumerate(alert_ids):
            request = {"type": "acknowledge_alert", "alertId": alert_id, "requestId": str(index)}
            await ws.send(json.dumps(request))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if reply.get("requestId") == str(index):
                    answers.append(reply.get("code") or reply["type"])
                    break
    return answers


def test_acknowledgements_and_refused_ones_are_recorded(audited, settings):
    server, database_url = audited
    settings.EMBEDDED_STORE_PATH = server.store_path
    store.reset_client()
    now = dt.datetime.now(dt.UTC)
    er, neuro = (
        str(i)
        for i in store.get_database()
        .workflows.insert_many(
            [
                {
                    "patientId": f"audit-{d}",
                    "departmentId": d,
                    "stage": "triage",
                    "priority": "emergency",
                    "startedAt": now,
                    "updatedAt": now,
                    "resolvedAt": None,
                    "isActive": True,
                }
                for d in ("ER", "NEURO")
            ]
        )
        .inserted_ids
    )
    admin, viewer = login(server, "admin")["access"], login(server, "viewer")["access"]

    assert asyncio.run(acknowledge(server, admin, [er, neuro])) == [
        "alert_acknowledged",
        "forbidden",
    ]
    assert asyncio.run(acknowledge(server, viewer, [er])) == ["forbidden"]

    def ack(alert_id, username):
        return lambda e: (
            e["event"] == "acknowledgement"
            and e["detail"]["alertId"] == alert_id
            and (e["username"] == username)
        )

    [done] = wait_for_entries(database_url, ack(er, "admin"))
    [outside] = wait_for_entries(database_url, ack(neuro, "admin"))
    [read_only] = wait_for_entries(database_url, ack(er, "viewer"))
    assert (done["outcome"], done["action"], done["detail"]["department"]) == ("success", "C", "ER")
    assert (outside["outcome"], outside["detail"]["reason"]) == ("refused", "outside_departments")
    assert (read_only["outcome"], read_only["detail"]["reason"]) == ("refused", "read_only")
    assert done["departments"] == "CARD,ER"


def test_a_department_change_in_django_admin_is_recorded_with_old_and_new(audited):
    server, database_url = audited
    [(viewer_id,)] = database_rows(
        database_url, "SELECT id FROM auth_user WHERE username = 'viewer'"
    )
    session = AdminSession(server.url)
    session.login("superadmin", DEMO_PASSWORDS["superadmin"])
    path = f"/admin/auth/user/{viewer_id}/change/"
    fields = [
        f
        for f in session.change_form(path, "user_form")
        if f[0] != "dashboard_profile-0-departments"
    ]
    fields += [("dashboard_profile-0-departments", code) for code in ("NEURO", "ICU")]
    url, _ = session.post_form(path, [*fields, ("_save", "Save")])
    assert url.endswith("/admin/auth/user/")

    [change] = wait_for_entries(
        database_url, lambda e: e["event"] == "user_updated" and e["detail"]["user"] == "viewer"
    )
    [admin_signin] = wait_for_entries(
        database_url, lambda e: e["event"] == "signin" and e["channel"] == "admin"
    )

    assert (change["action"], change["outcome"], change["channel"]) == ("U", "success", "admin")
    assert (change["username"], change["level"], change["address"]) == (
        "superadmin",
        "super_admin",
        "127.0.0.1",
    )
    assert change["detail"]["changes"] == {"departments": [[], ["ICU", "NEURO"]]}
    assert admin_signin["username"] == "superadmin" and admin_signin["outcome"] == "success"


def test_a_refused_origin_is_recorded(audited):
    server, database_url = audited

    async def attempt():
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws_url, origin="http://evil.example", open_timeout=20)
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 403

    [entry] = wait_for_entries(
        database_url,
        lambda e: e["event"] == "session_refused" and e["detail"].get("reason") == "origin",
    )
    assert entry["detail"]["origin"] == "http://evil.example"
    assert (entry["outcome"], entry["address"], entry["channel"]) == (
        "refused",
        "127.0.0.1",
        "socket",
    )


def test_the_chain_verifies_and_every_entry_is_a_json_line_in_the_log(audited):
    server, database_url = audited
    assert api_login(server.port, "someone", "wrong") == 401
    wait_for_entries(database_url, lambda e: e["username"] == "someone")

    output = manage("verify_audit", env=server.env)

    assert "audit chain intact" in output
    lines = [line for line in server.log().splitlines() if line.startswith("{")]
    logged = [json.loads(line) for line in lines]
    assert any(e["username"] == "someone" and e["event"] == "signin" for e in logged)
    assert all(len(e["hash"]) == 64 for e in logged)
    assert server.health()["checks"]["audit"]["ok"] is True
