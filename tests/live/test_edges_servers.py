"""The edges of both real servers (`manage.py serve`, daphne and uvicorn): the admin's login under
the API's limits, forwarded addresses from trusted proxies only, the host of every request
checked, and clients' mistakes logged as one short line each."""

from __future__ import annotations

import base64
import json
import os
import socket
import urllib.error
import urllib.request

import pytest

from tests.admin_http import AdminSession, form_fields
from tests.servers import DEMO_PASSWORDS, LiveServer

pytestmark = pytest.mark.slow

SERVERS = ["daphne", "uvicorn"]


def start(tmp_path_factory, kind: str, name: str, env: dict[str, str]) -> LiveServer:
    workdir = tmp_path_factory.mktemp(f"{name}-{kind}")
    return LiveServer.start(
        workdir,
        store_path=str(workdir / "store.sqlite3"),
        env={"DASHBOARD_SERVER": kind, **env},
    )


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmp_path_factory):
    """No trusted proxy; 30 login attempts a minute from one address, 10 at one username."""
    running = start(tmp_path_factory, request.param, "plain", {"DASHBOARD_LOGIN_RATE_IP": "30/min"})
    yield running
    running.stop()


@pytest.fixture(scope="module", params=SERVERS)
def proxied(request, tmp_path_factory):
    """127.0.0.1 is a trusted proxy; 3 login attempts a minute from one address."""
    running = start(
        tmp_path_factory,
        request.param,
        "proxied",
        {"DASHBOARD_TRUSTED_PROXIES": "127.0.0.1", "DASHBOARD_LOGIN_RATE_IP": "3/min"},
    )
    yield running
    running.stop()


# --- raw HTTP, from a chosen source address ---------------------------------------------------------


def exchange(port: int, request: bytes, source: str = "127.0.0.1", limit: int = 4096) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(request)
        data = b""
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and _complete(data):
                break
        return data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return head.startswith(b"HTTP/1.1 101") or head.startswith(b"HTTP/1.1 403")


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def api_login(
    port: int, username: str, password: str, source: str = "127.0.0.1", forwarded: str = ""
) -> int:
    body = json.dumps({"username": username, "password": password}).encode()
    extra = f"X-Forwarded-For: {forwarded}\r\n" if forwarded else ""
    request = (
        f"POST /api/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return status(exchange(port, request, source))


def handshake(host: bytes, target: bytes = b"/ws/dashboard/") -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
        b"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n"
    )


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes((0x81, 0x80 | len(payload))) + mask + body


def full_log(server: LiveServer) -> str:
    return server.log_path.read_text()


# --- the admin's login under the API's limits ------------------------------------------------------


class AdminLogin:
    """Posts to /admin/login/ as a browser does (the form's CSRF token included)."""

    def __init__(self, server: LiveServer) -> None:
        self.session = AdminSession(server.url)
        _, page = self.session.get("/admin/login/?next=/admin/")
        self.fields = dict(form_fields(page, "login-form"))

    def post(self, username: str, password: str) -> urllib.error.HTTPError | str:
        fields = {**self.fields, "username": username, "password": password}
        try:
            url, _ = self.session.post_form("/admin/login/?next=/admin/", list(fields.items()))
            return url
        except urllib.error.HTTPError as error:
            return error


def test_admin_login_is_refused_after_ten_wrong_passwords(server):
    admin = AdminLogin(server)
    for _ in range(10):
        answer = admin.post("superadmin", "wrong")
        assert isinstance(answer, str) and "/admin/login/" in answer  # the form again

    refused = admin.post("superadmin", DEMO_PASSWORDS["superadmin"])

    assert isinstance(refused, urllib.error.HTTPError) and refused.code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert b"Too many login attempts" in refused.read()


def test_api_failures_count_toward_the_admin_lock(server):
    for _ in range(6):
        assert api_login(server.port, " Admin ", "wrong") == 401
    admin = AdminLogin(server)
    for _ in range(4):
        assert isinstance(admin.post("admin", "wrong"), str)

    refused = admin.post("ADMIN", DEMO_PASSWORDS["admin"])

    assert isinstance(refused, urllib.error.HTTPError) and refused.code == 429
    assert api_login(server.port, "admin", DEMO_PASSWORDS["admin"]) == 429


# --- forwarded addresses ---------------------------------------------------------------------------


def test_a_trusted_proxy_s_forwarded_address_is_the_one_counted(proxied):
    port = proxied.port
    for _ in range(3):
        assert api_login(port, "nobody-1", "wrong", forwarded="198.51.100.1") == 401
    assert api_login(port, "nobody-1", "wrong", forwarded="198.51.100.1") == 429
    # The nearest address the proxy did not vouch for counts, not one the client wrote before it.
    assert api_login(port, "nobody-1", "wrong", forwarded="192.0.2.77, 198.51.100.1") == 429
    assert api_login(port, "nobody-1", "wrong", forwarded="198.51.100.2") == 401


def test_an_untrusted_peer_s_forwarded_address_is_ignored(proxied):
    # 127.0.0.2 reaches the server over loopback but is no trusted proxy.
    for number in range(3):
        assert (
            api_login(proxied.port, "nobody-2", "wrong", "127.0.0.2", f"203.0.113.{number}") == 401
        )
    assert api_login(proxied.port, "nobody-2", "wrong", "127.0.0.2", "203.0.113.99") == 429


# --- hosts and client errors -----------------------------------------------------------------------


def test_every_request_names_an_allowed_host(server):
    port = server.port
    bad_http = b"GET /health/live/ HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n"
    absolute = (
        b"GET http://evil.com/health/live/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    allowed_absolute = (
        f"GET http://127.0.0.1:{port}/health/live/ HTTP/1.1\r\nHost: evil.com\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    assert status(exchange(port, bad_http)) == 400
    assert status(exchange(port, absolute)) == 400
    assert status(exchange(port, allowed_absolute)) == 200
    assert status(exchange(port, handshake(b"evil.com"))) == 403
    assert status(exchange(port, handshake(b"127.0.0.1", b"http://evil.com/ws/dashboard/"))) == 403
    assert status(exchange(port, handshake(b"127.0.0.1"), limit=12)) == 101


def test_a_hundred_client_errors_of_each_kind_leave_short_warnings_only(server):
    port = server.port
    before = len(full_log(server))
    closes = []
    for _ in range(100):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(handshake(b"127.0.0.1"))
            reply = b""
            while b"\r\n\r\n" not in reply:
                reply += sock.recv(65536)
            assert reply.startswith(b"HTTP/1.1 101")
            sock.sendall(masked_text_frame(b"\xff\xfe{}"))
            data = b""
            while b"\x88" not in data:
                chunk = sock.recv(65536)
                assert chunk, "closed without a close frame"
                data += chunk
            frame = data[data.index(b"\x88") :]
            closes.append(int.from_bytes(frame[2:4], "big"))
    statuses = []
    for number in range(100):
        if number % 2:
            request = f"GET /health/live/ HTTP/1.1\r\nHost: evil{number}.com\r\n\r\n".encode()
        else:
            request = handshake(f"evil{number}.com".encode())
        statuses.append(status(exchange(port, request)))

    assert set(closes) == {1007}
    assert statuses.count(400) == 50 and statuses.count(403) == 50
    log = full_log(server)[before:]
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    lines = [line for line in log.splitlines() if "client error from 127.0.0.1: " in line]
    assert 0 < len(lines) <= 20  # DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE
    assert all(" WARNING dashboard.clients " in line for line in lines)


def test_a_fresh_forwarded_address_from_an_unconfigured_proxy_is_still_throttled(server):
    # Last in the module: it spends this address's login attempts.
    attempts = 0
    while api_login(server.port, f"somebody-{attempts}", "wrong") != 429:
        attempts += 1
        assert attempts <= 30
    assert api_login(server.port, "somebody-else", "wrong", forwarded="198.51.100.50") == 429
