"""The page a hospital keeps on the wall: it keeps acknowledgements across a disconnect, puts
emergencies first, and follows batches, versions and close codes. Its recovery from an outage,
beside a Node dashboard's: tests/browser/test_outage.py."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from bson import ObjectId
from playwright.sync_api import expect

from metrics import store

from .conftest import DESKTOP, only_emergencies

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The dashboard socket, whatever its query (the page opens it with a one-time ticket).
WS_URL = re.compile(r"/ws/dashboard/(\?.*)?$")
ACKNOWLEDGE = re.compile("Acknowledge")


def test_acknowledgements_made_just_before_a_disconnect_are_delivered_or_reported(open_page):
    kept, resolved = only_emergencies([dt.timedelta(minutes=30), dt.timedelta(minutes=20)])
    dashboard = open_page()
    page = dashboard.page
    sockets = {"n": 0, "held": []}

    def route(ws):
        sockets["n"] += 1
        if sockets["n"] == 2:
            ws.close(code=1011, reason="restarting")  # the first try after the drop fails too
            return
        server = ws.connect_to_server()

        def to_server(message):
            if sockets["n"] == 1 and json.loads(message).get("type") == "acknowledge_alert":
                sockets["held"].append(message)  # never reaches the server
                return
            server.send(message)

        ws.on_message(to_server)
        sockets["page"], sockets["server"] = ws, server

    page.route_web_socket(WS_URL, route)
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")
    panel = dashboard.tile("emergencyAlerts")
    for alert_id in (kept, resolved):
        panel.locator(f'[data-alert-id="{alert_id}"]').get_by_role("button").click()
    expect(panel.get_by_role("button", name=re.compile("Acknowledging"))).to_have_count(2)
    assert len(sockets["held"]) == 2

    # The alert is resolved meanwhile, and the connection drops before any answer.
    now = dt.datetime.now(dt.UTC)
    store.get_database().workflows.update_one(
        {"_id": ObjectId(resolved)},
        {"$set": {"stage": "done", "resolvedAt": now, "updatedAt": now}},
    )
    sockets["server"].close()
    sockets["page"].close(code=1011, reason="restarting")
    expect(panel.locator(f'[data-alert-id="{kept}"] button')).to_have_text("Sends when reconnected")

    # On the new socket both are sent again: one goes through, the other is explained.
    acknowledgement = panel.locator(f'[data-alert-id="{kept}"] [data-role="acknowledgement"]')
    expect(acknowledgement).to_contain_text("Acknowledged by admin", timeout=15_000)
    expect(panel.locator(".tile-message")).to_have_text(
        "That alert was resolved before the acknowledgement reached the server."
    )
    expect(page.locator("#connection-label")).to_have_text("Live")


def test_twelve_emergencies_oldest_first_ten_in_view_at_1366_with_every_headline(open_page):
    minutes = [3, 9, 14, 25, 40, 55, 75, 130, 200, 290, 600, 3400]
    ids = only_emergencies([dt.timedelta(minutes=m) for m in minutes])
    dashboard = open_page(DESKTOP)
    page = dashboard.page
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    panel = dashboard.tile("emergencyAlerts")
    waiting = panel.locator(".alert-grid [data-alert-id]")

    expect(waiting).to_have_count(12)
    expect(panel.locator('[data-role="headline"]')).to_have_text("12")
    assert waiting.evaluate_all("els => els.map(e => e.dataset.alertId)") == ids[::-1]
    ages = panel.locator(".alert-grid .alert-age").all_inner_texts()
    assert ages[0] == "open 56 h" and ages[2] == "open 4 h 50 min" and ages[-1] == "open 3 min"
    # The first ten are in the window, with no scrolling of the page or inside the panel.
    assert page.evaluate("() => window.scrollY") == 0
    for index in range(10):
        box = waiting.nth(index).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= DESKTOP["height"], index
    assert panel.evaluate(
        "el => [...el.querySelectorAll('*')].every(e => e.scrollHeight <= e.clientHeight + 1"
        " || getComputedStyle(e).overflowY === 'visible')"
    )
    # Every tile's headline figure too: the first row of tiles gives way to the grown panel.
    assert dashboard.first_screen_missing() == []
    dashboard.settle()
    dashboard.screenshot("dashboard-emergencies-desktop")

    # Acknowledged: out of the waiting count and below the waiting ones.
    waiting.first.get_by_role("button", name=ACKNOWLEDGE).click()
    expect(panel.locator('[data-role="headline"]')).to_have_text("11")
    expect(panel.locator(f'.ack-list [data-alert-id="{ids[-1]}"]')).to_be_visible()
    expect(waiting.first).to_have_attribute("data-alert-id", ids[-2])


def test_batched_updates_newer_versions_and_close_codes(open_page, server):
    dashboard = open_page()
    page = dashboard.page
    sent, versions, routes, urls = [], {}, {}, []

    def route(ws):
        urls.append(ws.url)
        upstream = ws.connect_to_server()
        routes["page"] = ws

        def to_server(message):
            sent.append(json.loads(message))
            upstream.send(message)

        def to_page(message):
            payload = json.loads(message)
            kind = payload.get("type")
            updates = []
            if kind == "dashboard_update":
                updates = [payload]
            elif kind == "dashboard_updates":
                updates = payload["updates"]
            elif kind == "metrics_snapshot":
                updates = [{"metric": name, **value} for name, value in payload["metrics"].items()]
            for update in updates:
                versions[update["metric"]] = max(
                    update["version"], versions.get(update["metric"], 0)
                )
            ws.send(message)

        ws.on_message(to_server)
        upstream.on_message(to_page)

    page.route_web_socket(WS_URL, route)
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    # Signed in by the handshake (a one-time ticket), batched updates asked for there.
    assert "ticket=" in urls[0] and "batch=true" in urls[0]
    staff_before = dashboard.headline("staffActivity")

    # A batch: the newer patientCount applies, the older staffActivity is ignored.
    patients = {"total": 4321, "byDepartment": {"ER": 4321}}
    staff = {"total": 1, "byStatus": {"on_duty": 1}, "byRole": {}, "byDepartment": {}}
    now = dt.datetime.now(dt.UTC).isoformat()
    routes["page"].send(
        json.dumps(
            {
                "type": "dashboard_updates",
                "updates": [
                    {
                        "metric": "patientCount",
                        "data": patients,
                        "updatedAt": now,
                        "stale": False,
                        "version": versions["patientCount"] + 10**9,
                    },
                    {
                        "metric": "staffActivity",
                        "data": staff,
                        "updatedAt": now,
                        "stale": False,
                        "version": versions["staffActivity"] - 10**9,
                    },
                ],
            }
        )
    )
    expect(dashboard.tile("patientCount").locator('[data-role="headline"]')).to_have_text("4,321")
    assert dashboard.headline("staffActivity") == staff_before

    # A week with one burst: the scale is clipped so the other hours stay readable, and says so.
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    rows = [
        {
            "hour": (start - dt.timedelta(hours=167 - i)).isoformat(),
            "newPatients": 3 + i % 5,
            "appointments": 2 + i % 3,
            "completedAppointments": 1,
            "emergencies": 0,
            "revenueCents": 500_000,
        }
        for i in range(168)
    ]
    rows[-1]["newPatients"] = 400
    routes["page"].send(
        json.dumps(
            {
                "type": "historical_data",
                "timeRange": {"start": rows[0]["hour"], "end": start.isoformat()},
                "hourlyStats": rows,
                "departmentMetrics": [],
            }
        )
    )
    note = page.locator("#note-activity")
    expect(note).to_contain_text("Scale clipped at 10 so the other hours stay readable")
    expect(note).to_contain_text("1 hour goes above it (highest: New patients 400")
    note.get_by_role("button", name="Show the full scale").click()
    expect(note.get_by_role("button", name="Clip the peaks")).to_be_focused()
    expect(page.locator("#note-revenue")).to_be_hidden()

    # 1013: the server is full; the page says so and tries again.
    routes["page"].close(code=1013, reason="full")
    expect(page.locator("#connection-detail")).to_contain_text("Server full.")
    expect(page.locator("#connection-label")).to_have_text("Live", timeout=10_000)

    # 4001: authentication failed; the page renews its token and comes back.
    with page.expect_response("**/api/auth/token/refresh/") as renewed:
        routes["page"].close(code=4001, reason="authentication failed")
    assert renewed.value.status == 200
    expect(page.locator("#connection-label")).to_have_text("Live", timeout=10_000)

    # 4003: access revoked: back to sign-in, with a word why.
    routes["page"].close(code=4003, reason="access revoked")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("Your dashboard access has changed")
