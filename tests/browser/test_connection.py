"""The connection as a person sees it: outages, reconnects, stale data, token renewal, rate limits."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from playwright.sync_api import expect

from metrics.scope import Scope
from metrics.selectors import compute_metric

from .conftest import SERVER_DOWN_MESSAGES, admit_patient, count

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The dashboard socket, whatever its query (the page opens it with a one-time ticket).
WS_URL = re.compile(r"/ws/dashboard/(\?.*)?$")


def sockets_opened(page) -> list:
    opened: list = []
    page.on("websocket", lambda ws: opened.append(ws))
    return opened


def test_a_server_restart_shows_reconnecting_then_live_with_fresh_values(open_page, server):
    dashboard = open_page(expect_console=[SERVER_DOWN_MESSAGES.pattern])
    page = dashboard.page
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    total = count(dashboard.headline("patientCount"))
    expect(page.locator("#connection-label")).to_have_text("Live")

    server.stop()
    expect(page.locator("#connection-label")).to_have_text("Reconnecting", timeout=5_000)
    expect(page.locator("#connection-detail")).to_contain_text(
        re.compile(r"Connection lost\. Retr(y in \d+ s|ying) \([1-5] of 5\)")
    )
    expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    # The last values stay on screen while the connection is down.
    assert count(dashboard.headline("patientCount")) == total

    admit_patient("ER")  # while nobody serves
    server.restart()
    expect(page.locator("#connection-label")).to_have_text("Live", timeout=30_000)
    expect(dashboard.tile("patientCount").locator('[data-role="headline"]')).to_have_text(
        f"{total + 1:,}", timeout=10_000
    )
    dashboard.settle()


def test_after_five_quick_attempts_the_page_keeps_trying_and_retry_tries_now(open_page, server):
    dashboard = open_page(expect_console=[SERVER_DOWN_MESSAGES.pattern])
    page = dashboard.page
    page.clock.install()
    sockets = sockets_opened(page)
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")
    label = page.locator("#connection-label")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_hidden()

    server.stop()
    expect(label).to_have_text("Reconnecting", timeout=5_000)
    expect(retry).to_be_visible()
    for _ in range(12):
        if label.inner_text() == "Offline":
            break
        # Jump over the backoff delay; each jump lets one attempt fail against the closed port.
        page.clock.fast_forward(20_000)
        page.wait_for_timeout(400)
    expect(label).to_have_text("Offline")
    assert len(sockets) == 1 + 5, "the first socket and five quick attempts"
    expect(page.locator("#connection-detail")).to_contain_text(
        re.compile(r"Next try in \d+ s, then every 30 s\. Acknowledging paused\.")
    )
    assert dashboard.status_fits()
    # Then about every 30 s (24 to 33 s with jitter), for as long as the page is open.
    for expected in (7, 8, 9):
        page.clock.fast_forward(34_000)
        page.wait_for_timeout(400)
        assert len(sockets) == expected
    expect(label).to_have_text("Offline")

    # The page's clock stops here, so that only Retry brings it back (by itself it would be
    # back within seconds of the server's return: tests/browser/test_outage.py).
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 1)
    server.restart()
    retry.click()  # now, without waiting for the next try
    expect(label).to_have_text("Live", timeout=10_000)
    expect(retry).to_be_hidden()
    expect(dashboard.tile("patientCount")).to_have_attribute("data-live", "true")


def test_stale_and_degraded_states_from_the_server_are_shown(open_page):
    dashboard = open_page()
    page = dashboard.page
    routes = {}

    def route(ws):
        routes["server"] = ws.connect_to_server()
        routes["page"] = ws

    page.route_web_socket(WS_URL, route)
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    tile = dashboard.tile("patientCount")

    def from_server(message: dict) -> None:
        routes["page"].send(json.dumps(message))

    status = {"type": "connection_status", "instance": "test", "serverTime": "2030-01-01T00:00:00Z"}
    # Any other server may send free text; this one sends comma-separated codes.
    from_server({**status, "status": "degraded", "detail": "redis unreachable"})
    expect(page.locator("#connection-label")).to_have_text("Degraded")
    expect(page.locator("#connection-detail")).to_have_text(
        "The server reports a problem: values may lag."
    )
    expect(page.locator("#connection-detail")).to_have_attribute("title", "redis unreachable")
    from_server({**status, "status": "degraded", "detail": "listener_down,redis_unavailable"})
    expect(page.locator("#connection-detail")).to_have_text(
        "Live updates paused: values refresh every 5-30 s. (+1 more)"
    )
    assert dashboard.status_fits()
    for metric in ("patientCount", "emergencyAlerts", "revenue"):
        expect(dashboard.tile(metric)).to_have_attribute("data-live", "false")
        expect(dashboard.tile(metric).locator(".badge-not-live")).to_have_text("Delayed")
    # The socket works: acknowledging still goes through.
    expect(
        dashboard.tile("emergencyAlerts").get_by_role("button", name=re.compile("Acknowledge"))
    ).not_to_have_count(0)
    expect(dashboard.tile("emergencyAlerts").locator("button[disabled]")).to_have_count(0)

    from_server({**status, "status": "stale", "detail": "mongodb_unreachable"})
    expect(page.locator("#connection-label")).to_have_text("Stale")
    expect(page.locator("#connection-detail")).to_have_text(
        "Hospital database down: last known values. Acknowledging paused."
    )
    assert dashboard.status_fits()
    expect(dashboard.tile("emergencyAlerts").locator("button:not([disabled])")).to_have_count(0)
    # The last value known before the database went away, served again from the cache:
    # the numbers stay, marked as stale.
    data = compute_metric("patientCount", Scope.all())
    known_at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).isoformat()
    from_server(
        {
            "type": "dashboard_update",
            "metric": "patientCount",
            "data": data,
            "updatedAt": known_at,
            "stale": True,
        }
    )
    expect(tile.locator(".badge-not-live")).to_have_text("Last known")
    expect(tile).to_have_attribute("data-stale", "true")
    expect(tile.locator('[data-role="headline"]')).to_have_text(f"{data['total']:,}")
    # Its age is the age of the value the server last knew, two minutes.
    expect(tile.locator(".tile-foot")).to_contain_text("As of")
    expect(tile.locator(".tile-age")).to_contain_text("2 min ago")
    dashboard.settle()
    dashboard.screenshot("dashboard-stale-desktop")

    from_server({**status, "status": "recovered"})
    from_server(
        {
            "type": "dashboard_update",
            "metric": "patientCount",
            "data": data,
            "updatedAt": dt.datetime.now(dt.UTC).isoformat(),
            "stale": False,
        }
    )
    expect(page.locator("#connection-label")).to_have_text("Live")
    expect(page.locator("#connection-detail")).to_have_text("Back to normal.")
    expect(tile.locator(".badge-not-live")).to_be_hidden()
    expect(tile).to_have_attribute("data-live", "true")


def test_an_expired_token_is_renewed_and_the_socket_authenticates_again(open_page):
    dashboard = open_page()
    page = dashboard.page
    routes = {}
    sent: list[dict] = []
    urls: list[str] = []

    def route(ws):
        urls.append(ws.url)
        server = ws.connect_to_server()
        routes["page"] = ws

        def to_server(message):
            sent.append(json.loads(message))
            server.send(message)

        ws.on_message(to_server)

    page.route_web_socket(WS_URL, route)
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")
    # The socket signed in by its handshake (a one-time ticket), not with a token message.
    assert len(urls) == 1 and "ticket=" in urls[0]
    assert [m for m in sent if m["type"] == "authenticate"] == []
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('hospital-dashboard.tokens'))")

    with page.expect_response("**/api/auth/token/refresh/") as refreshed:
        routes["page"].send(json.dumps({"type": "auth_error", "error": "token_expired"}))
    assert refreshed.value.status == 200
    expect(page.locator("#connection-label")).to_have_text("Live")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not [m for m in sent if m["type"] == "authenticate"]:
        page.wait_for_timeout(100)
    tokens = [m["token"] for m in sent if m["type"] == "authenticate"]
    assert len(tokens) == 1 and tokens[0] != stored["access"]
    assert len(urls) == 1  # on the same socket
    renewed = page.evaluate("() => JSON.parse(sessionStorage.getItem('hospital-dashboard.tokens'))")
    assert renewed["access"] == tokens[0]
    assert renewed["refresh"] != stored["refresh"], "refresh tokens rotate"

    # Data keeps flowing on the re-authenticated socket.
    expect_admission_on_screen(dashboard, "ER")


def expect_admission_on_screen(dashboard, department: str) -> None:
    """Data keeps flowing: an admission shows in the patients tile within 3 s."""
    total = count(dashboard.headline("patientCount"))
    admit_patient(department)
    expect(dashboard.tile("patientCount").locator('[data-role="headline"]')).to_have_text(
        f"{total + 1:,}", timeout=3_000
    )


def test_the_access_token_is_renewed_before_it_expires(open_page):
    dashboard = open_page()
    page = dashboard.page
    page.clock.install()
    frames: list[dict] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda payload: frames.append(json.loads(payload))),
    )
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    before = page.evaluate("() => JSON.parse(sessionStorage.getItem('hospital-dashboard.tokens'))")

    # Five-minute access tokens are renewed a minute ahead: move the page's clock 4.5 minutes
    # on, in steps (the page pings a quiet socket, so it is not mistaken for a dead one).
    with page.expect_response("**/api/auth/token/refresh/", timeout=20_000):
        for _ in range(27):
            page.clock.fast_forward(10_000)
            page.wait_for_timeout(120)
    after = page.evaluate("() => JSON.parse(sessionStorage.getItem('hospital-dashboard.tokens'))")
    assert after["access"] != before["access"] and after["refresh"] != before["refresh"]
    page.wait_for_timeout(500)
    tokens = [f["token"] for f in frames if f["type"] == "authenticate"]
    assert tokens[-1] == after["access"]
    assert any(f["type"] == "ping" for f in frames)
    expect(page.locator("#connection-label")).to_have_text("Live")

    expect_admission_on_screen(dashboard, "CARD")


def test_a_rate_limited_request_is_sent_again_after_retry_after(open_page):
    dashboard = open_page()
    page = dashboard.page
    routes = {}
    refused_at: list[float] = []
    resent_at: list[float] = []

    def route(ws):
        server = ws.connect_to_server()

        def to_server(message):
            payload = json.loads(message)
            wants_week = payload["type"] == "request_historical"
            if wants_week and not refused_at and routes.get("armed"):
                refused_at.append(time.monotonic())
                ws.send(
                    json.dumps(
                        {
                            "type": "error",
                            "code": "rate_limited",
                            "message": "too many messages: slow down",
                            "retryAfter": 1.0,
                        }
                    )
                )
                return
            if wants_week and refused_at:
                resent_at.append(time.monotonic())
            server.send(message)

        ws.on_message(to_server)

    page.route_web_socket(WS_URL, route)
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    routes["armed"] = True
    page.get_by_text("Last 7 days").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#hourly-table tbody tr').length >= 7 * 24"
    )
    # Seven days widened to whole hours: 168 rows, or 169 when now is not on the hour.
    assert page.locator("#hourly-table tbody tr").count() in (7 * 24, 7 * 24 + 1)
    assert refused_at and resent_at
    assert resent_at[0] - refused_at[0] >= 1.0
    expect(page.locator("#history-error")).to_be_hidden()
