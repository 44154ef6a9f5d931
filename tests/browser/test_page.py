"""Signing in and out, the keyboard, and the time-range picker of the trends."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKENS = "() => JSON.parse(sessionStorage.getItem('hospital-dashboard.tokens'))"
FOCUS = """() => {
    const el = document.activeElement;
    // A radio shows its focus ring on its label.
    const shown = el.type === 'radio' ? el.nextElementSibling : el;
    const style = getComputedStyle(shown);
    return {
        text: (el.getAttribute('aria-label') || el.textContent || el.labels?.[0]?.textContent || '').trim(),
        tag: el.tagName, type: el.type || '',
        outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
    };
}"""


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_wrong_password_is_explained_and_the_form_stays(open_page):
    # Chromium itself logs the 401 of the refused login.
    dashboard = open_page(expect_console=[r"status of 401"])
    page = dashboard.page
    dashboard.sign_in("admin", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.locator("#dashboard-view")).to_be_hidden()
    assert page.evaluate(TOKENS) is None

    page.get_by_label("Password").fill("admin-demo")
    page.get_by_role("button", name="Sign in").click()
    dashboard.wait_until_filled("admin")


def test_signing_out_revokes_the_session_and_closes_the_socket(open_page, server):
    dashboard = open_page()
    page = dashboard.page
    sockets: list = []
    page.on("websocket", lambda ws: sockets.append(ws))
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    tokens = page.evaluate(TOKENS)

    with page.expect_response("**/api/auth/logout/") as logout:
        page.get_by_role("button", name="Sign out").click()
    assert logout.value.status == 204
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("You have signed out.")
    expect(page.locator("#tiles .tile")).to_have_count(0)
    expect(page.locator("#connection")).to_be_hidden()
    expect(page.locator("#account")).to_be_hidden()
    assert page.evaluate(TOKENS) is None
    page.wait_for_timeout(300)
    assert sockets and all(ws.is_closed() for ws in sockets)
    # The refresh token the page held no longer works.
    assert post(server.url + "/api/auth/token/refresh/", {"refresh": tokens["refresh"]}) == 401

    # A reload stays signed out; signing in again works.
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    dashboard.sign_in("viewer")
    dashboard.wait_until_filled("viewer")


def test_a_reload_keeps_the_session_of_the_tab(open_page):
    dashboard = open_page()
    page = dashboard.page
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")
    page.reload()
    dashboard.wait_until_filled("admin")
    expect(page.locator("#user-name")).to_have_text("admin")


def test_everything_is_reachable_by_keyboard_with_a_visible_focus(open_page):
    dashboard = open_page()
    page = dashboard.page
    page.goto(dashboard.server.url + "/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type("admin-demo")
    page.keyboard.press("Enter")
    dashboard.wait_until_filled("admin")
    # The first Tab after signing in starts at the top: the skip link, then Sign out.
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS)["text"] == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS)["text"] == "Sign out"

    # From the top of a fresh load of the signed-in page.
    page.reload()
    dashboard.wait_until_filled("admin")
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus["tag"] == "BODY":
            break
        assert focus["outline"] != "none" and focus["width"] >= 2, focus
        seen.append(focus["text"])
    for control in (
        "Skip to content",
        "Sign out",
        "Last 24 hours",
        "New patients",
        "Hourly figures as a table",
    ):
        assert any(control in text for text in seen), (control, seen)
    assert any(text.startswith("Acknowledge emergency in") for text in seen), seen

    # Acknowledge from the keyboard: focus stays on the alert, now marked as seen.
    button = dashboard.tile("emergencyAlerts").get_by_role("button").first
    alert_id = button.evaluate("b => b.closest('[data-alert-id]').dataset.alertId")
    button.focus()
    page.keyboard.press("Enter")
    alert = dashboard.tile("emergencyAlerts").locator(f'[data-alert-id="{alert_id}"]')
    expect(alert.locator('[data-role="acknowledgement"]')).to_contain_text("Acknowledged by admin")
    expect(alert).to_be_focused()

    # The range picker is a radio group: arrow keys choose.
    page.get_by_label("Last 24 hours").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("Last 7 days")).to_be_checked()
    page.wait_for_function(
        "() => document.querySelectorAll('#hourly-table tbody tr').length >= 168"
    )


def test_the_time_range_picker_asks_for_the_chosen_hours(open_page):
    dashboard = open_page()
    page = dashboard.page
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    rows = page.locator("#hourly-table tbody tr")
    # The last 24 hours, widened to whole hours.
    assert rows.count() in (24, 25)

    page.get_by_text("Custom").click()
    expect(page.get_by_label("From", exact=True)).to_be_focused()
    end = dt.datetime.now().replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=6)
    page.get_by_label("From", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To", exact=True).fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(6)
    expect(page.locator("#history-range")).not_to_contain_text("Loading")

    # A range the server would refuse is explained before it is sent.
    page.get_by_label("From", exact=True).fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#history-error")).to_have_text("The start must be before the end.")
    page.get_by_label("From", exact=True).fill(
        (end - dt.timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("To", exact=True).fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#history-error")).to_have_text("Choose a range of at most 31 days.")
    # An end in the future is refused here, as the server would refuse it.
    page.get_by_label("From", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("To", exact=True).fill(
        (end + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#history-error")).to_contain_text(
        re.compile(r"^The range cannot end in the future: choose an end no later than ")
    )
    expect(rows).to_have_count(6)
    expect(page.locator("#history-summary")).to_contain_text("New patients")

    page.get_by_text("Last 24 hours").click()
    expect(page.locator("#history-error")).to_be_hidden()
    page.wait_for_function("() => document.querySelectorAll('#hourly-table tbody tr').length >= 24")
    expect(page.locator("#range-custom-fields")).to_be_hidden()
