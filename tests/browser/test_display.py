"""A wall display in Chromium: paired with a code an admin confirms, live for a simulated day of
token renewals, unable to acknowledge, and closed within 5 s when revoked in Django admin.

Lifetimes are shortened by settings: a display's access token lives 2.4 s here (0.04 minutes)
where it lives an hour by default, so 24 renewals stand for a day; the credential lapses after
8.6 s unused (0.0001 days, 30 days by default), far less than the test keeps the display live,
so only its sliding renewal keeps it working. Two server workers share Redis: the admin's
revocation and the display's socket need not be in the same process.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.admin_http import AdminSession
from tests.browser.conftest import (
    DESKTOP,
    Console,
    Dashboard,
    open_emergencies,
    seed_page_hospital,
)
from tests.servers import DEMO_PASSWORDS, LiveServer

DAY_OF_RENEWALS = 24
CREDENTIAL_KEY = "hospital-dashboard.display"


@pytest.fixture
def display_server(tmp_path, hospital_store, redis_url, unique_prefix):
    seed_page_hospital(emergency_in={"ER"})
    running = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={
            "REDIS_URL": redis_url,
            "DASHBOARD_CHANNEL_PREFIX": unique_prefix,
            "DASHBOARD_DISPLAY_TOKEN_MINUTES": "0.04",
            "DASHBOARD_DISPLAY_IDLE_DAYS": "0.0001",
            # The periodic re-read would come much later: a close within 5 s is the push's.
            "DASHBOARD_REVALIDATE_SECONDS": "300",
        },
        serve_args=("--workers", "2"),
        listener="on",
    )
    yield running
    running.stop()


def post_json(server: LiveServer, path: str, body: dict, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        server.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def get_json(server: LiveServer, path: str, token: str):
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def receive_until(ws, predicate, limit: int = 50) -> dict:
    for _ in range(limit):
        message = json.loads(ws.recv(timeout=10))
        if predicate(message):
            return message
    raise AssertionError("the awaited message did not come")


def register_display(admin: AdminSession, name: str, departments: list[str]) -> int:
    """Through the admin's add form, as a super admin would; the new display's id."""
    fields = [
        (k, v)
        for k, v in admin.change_form("/admin/accounts/displaydevice/add/", "displaydevice_form")
        if k not in ("name", "departments", "_save", "_addanother")
    ]
    fields += [("name", name), *(("departments", d) for d in departments), ("_continue", "1")]
    url, _ = admin.post_form("/admin/accounts/displaydevice/add/", fields)
    match = re.search(r"/admin/accounts/displaydevice/(\d+)/change/", url)
    assert match, f"the display was not added (ended at {url})"
    return int(match.group(1))


def pair(admin: AdminSession, display_id: int, code: str) -> str:
    path = f"/admin/accounts/displaydevice/{display_id}/pair/"
    fields = [(k, v) for k, v in admin.change_form(path, "pair-form") if k != "code"]
    url, body = admin.post_form(path, [*fields, ("code", code)])
    assert url.endswith(f"/displaydevice/{display_id}/change/"), body
    return body


def revoke_in_admin(admin: AdminSession, display_id: int) -> None:
    """Untick "active" on the display's change page and save it."""
    path = f"/admin/accounts/displaydevice/{display_id}/change/"
    fields = [(k, v) for k, v in admin.change_form(path, "displaydevice_form") if k != "active"]
    url, _ = admin.post_form(path, [*fields, ("_save", "Save")])
    assert url.endswith("/admin/accounts/displaydevice/"), url


def test_a_paired_display_lives_through_a_day_of_renewals_and_closes_when_revoked(
    browser, display_server
):
    server = display_server
    admin = AdminSession(server.url)
    admin.login("superadmin", DEMO_PASSWORDS["superadmin"])
    display_id = register_display(admin, "Ward 3 corridor", ["ER"])

    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    console = Console()
    page.on("console", lambda m: m.type in ("error", "warning") and console.record(m.type, m.text))
    page.on("pageerror", lambda e: console.record("uncaught", str(e)))
    sockets: list = []
    page.on("websocket", lambda ws: sockets.append(ws))
    renewals: list[float] = []
    page.on(
        "requestfinished",
        lambda r: r.url.endswith("/api/auth/display/token/") and renewals.append(time.monotonic()),
    )
    board = Dashboard(page, console, server)
    try:
        # The screen shows a code; no sign-in form.
        page.goto(server.url + "/display/")
        code_box = page.locator("#pairing-code[data-code]")
        code_box.wait_for()
        code = code_box.get_attribute("data-code")
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}", code or ""), code
        assert page.locator("#login-view").is_hidden()
        board.screenshot("display-pairing")
        assert board.axe() == []
        # A mistyped code is refused on the admin's page; the right one pairs.
        path = f"/admin/accounts/displaydevice/{display_id}/pair/"
        fields = [(k, v) for k, v in admin.change_form(path, "pair-form") if k != "code"]
        _, body = admin.post_form(path, [*fields, ("code", "AAA-AAA")])
        assert "No screen shows that code" in body
        assert "is paired" in pair(admin, display_id, code.lower())

        # Live, as a display: its name, the Display badge, ER only, no sign-out, no acknowledging.
        page.locator('#dashboard-view .tile[data-state="ready"]').nth(6).wait_for(timeout=30_000)
        assert page.locator("#user-name").inner_text() == "Ward 3 corridor"
        assert page.locator("#user-level").inner_text() == "Display"
        assert page.locator("#user-departments").inner_text() == "ER"
        assert page.locator("#logout").is_hidden()
        assert "revenue" not in board.shown_tiles()
        alerts = board.tile("emergencyAlerts")
        alerts.locator(".ack-waiting").first.wait_for()
        assert alerts.locator("button.button-alert").count() == 0
        # On the wall: the emergency panel and every headline figure without scrolling.
        assert board.first_screen_missing() == []
        board.settle()
        board.screenshot("display-live")

        # A simulated day: 24 tokens renewed on one socket, long past the credential's idle limit.
        started = time.monotonic()
        first_renewals = len(renewals)
        deadline = started + 120
        while len(renewals) - first_renewals < DAY_OF_RENEWALS:
            assert time.monotonic() < deadline, f"only {len(renewals)} renewals"
            assert board.status() == "Live", board.status()
            page.wait_for_timeout(1_000)
        assert time.monotonic() - started > 8.64 * 3
        assert len(sockets) == 1 and not sockets[0].is_closed(), "the socket did not stay open"
        assert board.status() == "Live"
        assert page.locator("#dashboard-view").is_visible()

        # What the display may do with its own credential: a socket, no acknowledging, no REST.
        credential = json.loads(page.evaluate(f"() => localStorage.getItem('{CREDENTIAL_KEY}')"))
        assert credential["device"] == display_id
        status, token = post_json(
            server,
            "/api/auth/display/token/",
            {"device": credential["device"], "secret": credential["secret"]},
        )
        assert status == 200, token
        status, body = get_json(server, "/api/metrics/snapshot/", token["access"])
        assert (status, body["code"]) == (403, "display_not_allowed")
        status, ticket = post_json(server, "/api/auth/ticket/", {}, token["access"])
        assert status == 200
        alert_id = str(open_emergencies({"ER"})[0]["_id"])
        with connect(f"{server.ws_url}?ticket={ticket['ticket']}", origin=server.url) as own:
            hello = receive_until(own, lambda m: m["type"] == "authenticated")
            assert (hello["kind"], hello["level"]) == ("display", "viewer")
            own.send(
                json.dumps({"type": "acknowledge_alert", "alertId": alert_id, "requestId": "a1"})
            )
            refusal = receive_until(own, lambda m: m.get("requestId") == "a1")
            assert (refusal["type"], refusal["code"]) == ("error", "forbidden")

            # Revoked in Django admin: both sockets close with 4003 within 5 s, the page returns
            # to pairing, and the credential is refused.
            revoke_in_admin(admin, display_id)
            revoked_at = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                while time.monotonic() - revoked_at < 5:
                    own.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
            page.locator("#pairing-error").wait_for(state="visible", timeout=5_000)
            assert time.monotonic() - revoked_at < 5.0
        assert "revoked" in page.locator("#pairing-error").inner_text()
        assert sockets[0].is_closed()
        assert page.evaluate(f"() => localStorage.getItem('{CREDENTIAL_KEY}')") is None
        status, body = post_json(
            server,
            "/api/auth/display/token/",
            {"device": credential["device"], "secret": credential["secret"]},
        )
        assert (status, body["code"]) == (401, "invalid_credential")
        status, body = post_json(server, "/api/auth/ticket/", {}, token["access"])
        if status == 200:  # the access token is still unexpired: its ticket is refused
            with connect(f"{server.ws_url}?ticket={body['ticket']}", origin=server.url) as refused:
                refusal = receive_until(refused, lambda m: m["type"] == "auth_error")
                assert refusal["error"] == "invalid_ticket"
    finally:
        context.close()
    assert not console.problems, "the browser console reported:\n" + "\n".join(console.problems)
