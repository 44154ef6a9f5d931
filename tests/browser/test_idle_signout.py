"""Idle sign-out of a personal session in Chromium, with a short limit (DASHBOARD_IDLE_SIGNOUT_MINUTES)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest

from tests.browser.conftest import DESKTOP, Console, Dashboard, seed_page_hospital
from tests.servers import LiveServer

# 0.05 minutes: three seconds.
IDLE_MINUTES = "0.05"
TOKENS_KEY = "hospital-dashboard.tokens"


@pytest.fixture
def idle_server(tmp_path, hospital_store):
    seed_page_hospital()
    running = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={"DASHBOARD_IDLE_SIGNOUT_MINUTES": IDLE_MINUTES},
    )
    yield running
    running.stop()


@pytest.fixture
def dashboard(browser, idle_server):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    console = Console()
    page.on("console", lambda m: m.type in ("error", "warning") and console.record(m.type, m.text))
    page.on("pageerror", lambda e: console.record("uncaught", str(e)))
    sockets: list = []
    page.on("websocket", lambda ws: sockets.append(ws))
    board = Dashboard(page, console, idle_server)
    board.sockets = sockets  # type: ignore[attr-defined]
    yield board
    context.close()
    assert not console.problems, "the browser console reported:\n" + "\n".join(console.problems)


def refresh_status(server: LiveServer, refresh: str) -> int:
    request = urllib.request.Request(
        server.url + "/api/auth/token/refresh/",
        data=json.dumps({"refresh": refresh}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_page_carries_the_servers_limit(dashboard):
    dashboard.page.goto(dashboard.server.url + "/")
    assert dashboard.page.locator("body").get_attribute("data-idle-signout-seconds") == "3"


def test_an_idle_session_signs_out_with_a_notice_and_forgets_its_tokens(dashboard):
    page = dashboard.page
    dashboard.sign_in("viewer")
    signed_in_at = time.monotonic()  # the sign-in was the last interaction
    page.wait_for_function(f"() => sessionStorage.getItem('{TOKENS_KEY}') !== null")
    tokens = json.loads(page.evaluate(f"() => sessionStorage.getItem('{TOKENS_KEY}')"))
    # Nobody touches the page: back to sign-in with the notice.
    notice = page.locator("#login-error")
    notice.wait_for(state="visible", timeout=15_000)
    idle_for = time.monotonic() - signed_in_at
    assert re.fullmatch(
        r"You were signed out after 3 seconds without activity\. Sign in again to continue\.",
        notice.inner_text(),
    )
    assert "form-message-info" in (notice.get_attribute("class") or "")
    assert 2.0 <= idle_for < 12
    assert page.locator("#dashboard-view").is_hidden()
    assert page.locator("#login-view").is_visible()
    # The tab forgot its tokens, the socket is closed and the refresh token is revoked.
    assert page.evaluate(f"() => sessionStorage.getItem('{TOKENS_KEY}')") is None
    assert dashboard.sockets and all(ws.is_closed() for ws in dashboard.sockets)
    deadline = time.monotonic() + 5
    while refresh_status(dashboard.server, tokens["refresh"]) != 401:
        assert time.monotonic() < deadline, "the refresh token still works after an idle sign-out"
        time.sleep(0.2)
    dashboard.screenshot("idle-signout")
    # A reload stays signed out.
    page.reload()
    page.locator("#login-view").wait_for(state="visible")
    assert page.locator("#dashboard-view").is_hidden()


def test_someone_at_the_screen_stays_signed_in(dashboard):
    page = dashboard.page
    dashboard.sign_in("viewer")
    page.wait_for_function(f"() => sessionStorage.getItem('{TOKENS_KEY}') !== null")
    # Twice the limit, with a pointer move, a key or a touch-like tap every second.
    for step in range(7):
        if step % 2:
            page.mouse.move(100 + step * 10, 200)
        else:
            page.keyboard.press("Shift")
        time.sleep(1.0)
    assert page.locator("#dashboard-view").is_visible()
    assert page.locator("#login-error").is_hidden()
    assert page.evaluate(f"() => sessionStorage.getItem('{TOKENS_KEY}')") is not None
    # Then nobody: signed out.
    page.locator("#login-error").wait_for(state="visible", timeout=15_000)
    assert page.evaluate(f"() => sessionStorage.getItem('{TOKENS_KEY}')") is None
