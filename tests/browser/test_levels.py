"""Each permission level signs in and sees its own dashboard, filled, at every width: on a wall
(1366 × 768, 1920 × 1080) the emergency panel and every headline figure on the first screen, on a
phone every control large enough for a finger and long department names cut with an ellipsis."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from metrics import store
from metrics.scope import Scope
from metrics.selectors import compute_metric

from .conftest import DESKTOP, PHONE, TABLET, TILES_FOR, WALL, count, open_emergencies

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCOPES = {
    "superadmin": Scope.all(),
    "admin": Scope.of({"ER", "CARD"}),
    "viewer": Scope.all(),
}
ACCOUNT = {
    "superadmin": ("Super admin", "All departments"),
    "admin": ("Admin", "CARD, ER"),
    "viewer": ("Viewer", "All departments"),
}
# A department with a long name, as real hospitals have them.
LONG_NAMED = ("ICU", "Intensive Care and High Dependency")


@pytest.mark.parametrize("username", ["superadmin", "admin", "viewer"])
def test_each_level_sees_its_tiles_filled_with_the_true_values_at_every_width(open_page, username):
    scope = SCOPES[username]
    patients = compute_metric("patientCount", scope)
    rooms = compute_metric("roomOccupancy", scope)
    staff = compute_metric("staffActivity", scope)
    appointments = compute_metric("todayAppointments", scope)
    long_code, long_name = LONG_NAMED
    store.get_database().departments.update_one({"_id": long_code}, {"$set": {"name": long_name}})
    names = {str(d["_id"]): d["name"] for d in store.get_database().departments.find()}

    for viewport, name in ((DESKTOP, "desktop"), (TABLET, "tablet"), (PHONE, "phone")):
        dashboard = open_page(viewport)
        page = dashboard.page
        dashboard.sign_in(username)
        dashboard.wait_until_filled(username)

        # The emergency panel first (on a phone too), then the other tiles.
        assert dashboard.shown_tiles() == TILES_FOR[username]
        assert dashboard.overflow() == 0, f"the page is wider than {viewport['width']} px"
        level, departments = ACCOUNT[username]
        expect(page.locator("#user-name")).to_have_text(username)
        expect(page.locator("#user-level")).to_have_text(level)
        expect(page.locator("#user-departments")).to_have_text(departments)
        expect(page.locator("#connection-label")).to_have_text("Live")

        assert count(dashboard.headline("patientCount")) == patients["total"]
        for code, value in patients["byDepartment"].items():
            assert count(dashboard.row_value("patientCount", code)) == value
        occupancy = dashboard.tile("roomOccupancy")
        beds = rooms["totals"]
        expect(occupancy).to_contain_text(
            f"{beds['occupiedBeds']:,} of {beds['beds']:,} beds occupied · {beds['rooms']:,} rooms"
        )
        assert count(dashboard.headline("todayAppointments")) == appointments["total"]
        assert count(dashboard.headline("staffActivity")) == staff["byStatus"].get("on_duty", 0)
        for tile in TILES_FOR[username]:
            expect(dashboard.tile(tile).locator(".tile-time")).not_to_have_text("")
            expect(dashboard.tile(tile).locator(".badge-not-live")).to_be_hidden()
            expect(dashboard.tile(tile)).to_have_attribute("data-live", "true")
        # Every breakdown lists every department of the user's, zero or not.
        codes = sorted(patients["byDepartment"])
        for tile in ("patientCount", "roomOccupancy", "todayAppointments", "staffActivity"):
            keys = (
                dashboard.tile(tile)
                .locator(".bar-row")
                .evaluate_all("els => els.map(e => e.dataset.key)")
            )
            assert keys == codes, tile
        if name == "desktop":
            # A wall: the emergency panel and every headline figure without scrolling.
            assert dashboard.first_screen_missing() == []
        if name == "phone":
            assert dashboard.small_targets() == []
            # Every department name whole in the text and the title; one cut short shows an
            # ellipsis (the long one is, wherever the user may see it).
            shown = dashboard.department_names()
            assert shown and all(n["text"] == n["title"] == names[n["code"]] for n in shown)
            cut = [n for n in shown if n["cut"]]
            assert all(n["overflow"] == "ellipsis" for n in cut), cut
            assert any(n["code"] == long_code for n in cut) == scope.includes(long_code)
        if name != "tablet":
            assert dashboard.axe() == [], f"axe at {name} width"

        dashboard.settle()
        dashboard.screenshot(f"dashboard-{username}-{name}")
        if name == "desktop" and username == "superadmin":
            # The larger wall screen, the same page resized: the first screen whole there too.
            page.set_viewport_size(WALL)
            assert dashboard.first_screen_missing() == []
            dashboard.settle()
            dashboard.screenshot("dashboard-superadmin-wall")
        if name == "phone":
            # The custom range's fields and button are large enough too.
            page.get_by_text("Custom").click()
            expect(page.get_by_label("From", exact=True)).to_be_focused()
            assert dashboard.small_targets() == []


def test_viewer_sees_no_revenue_anywhere_and_no_acknowledge_button(open_page):
    dashboard = open_page()
    page = dashboard.page
    dashboard.sign_in("viewer")
    dashboard.wait_until_filled("viewer")

    expect(dashboard.tile("revenue")).to_have_count(0)
    expect(page.locator("#chart-card-revenue")).to_be_hidden()
    expect(page.locator("#history-summary")).not_to_contain_text("Revenue")
    expect(page.locator("#department-table thead")).not_to_contain_text("Revenue")
    expect(page.locator("main")).not_to_contain_text("$")

    alerts = dashboard.tile("emergencyAlerts")
    open_alerts = open_emergencies()
    assert open_alerts, "the demo hospital has open emergencies"
    expect(alerts.locator("[data-alert-id]")).to_have_count(min(50, len(open_alerts)))
    expect(alerts.get_by_role("button")).to_have_count(0)
    expect(alerts).to_contain_text("Not yet acknowledged")


def test_admin_sees_only_its_departments(open_page):
    dashboard = open_page()
    page = dashboard.page
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")

    for tile in ("patientCount", "roomOccupancy", "todayAppointments", "revenue", "staffActivity"):
        keys = (
            dashboard.tile(tile)
            .locator(".bar-row")
            .evaluate_all("els => els.map(e => e.dataset.key)")
        )
        assert keys and set(keys) <= {"CARD", "ER"}, tile
    for tile in ("patientCount", "roomOccupancy"):
        keys = (
            dashboard.tile(tile)
            .locator(".bar-row")
            .evaluate_all("els => els.map(e => e.dataset.key)")
        )
        assert keys == ["CARD", "ER"], tile
    expect(page.locator("#tiles")).not_to_contain_text("NEURO")
    rows = page.locator("#department-table tbody tr")
    assert rows.evaluate_all("els => els.map(e => e.dataset.department)") == ["CARD", "ER"]
    departments = (
        dashboard.tile("emergencyAlerts")
        .locator("[data-alert-id]")
        .evaluate_all("els => els.map(e => e.dataset.department)")
    )
    assert set(departments) <= {"ER", "CARD"}
    expected = open_emergencies({"ER", "CARD"})
    assert len(departments) == min(50, len(expected))
    # An admin may act on its alerts: every open one has its button.
    expect(
        dashboard.tile("emergencyAlerts").get_by_role("button", name="Acknowledge")
    ).to_have_count(len(departments))


def test_the_sign_in_page_is_served_offline_ready_with_a_strict_policy(open_page):
    dashboard = open_page()
    page = dashboard.page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(dashboard.server.url + "/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self' ws: wss:" in policy
    assert "unsafe-inline" not in policy
    assert "csrftoken" not in (response.headers.get("set-cookie") or "")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert requests and all(url.startswith(dashboard.server.url) for url in requests)
    dashboard.screenshot("sign-in-desktop")
