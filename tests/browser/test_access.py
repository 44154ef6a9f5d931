"""An open page follows its user's access as Django admin changes it: the header (level badge,
departments), the tiles and their bars, within the time docs/dashboard.md gives (5 s)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from metrics.scope import Scope
from metrics.selectors import compute_metric
from tests.admin_http import AdminSession, save_user_access, user_id
from tests.servers import DEMO_PASSWORDS

from .conftest import TILES_FOR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FOLLOWS_WITHIN_MS = 5_000


def test_an_open_page_follows_a_department_added_and_a_level_changed_in_admin(open_page, server):
    dashboard = open_page()
    page = dashboard.page
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")
    expect(page.locator("#user-departments")).to_have_text("CARD, ER")
    expect(dashboard.tile("patientCount").locator('[data-key="NEURO"]')).to_have_count(0)

    admin = AdminSession(server.url)
    admin.login("superadmin", DEMO_PASSWORDS["superadmin"])
    demo_admin = user_id(admin, "admin")
    save_user_access(admin, demo_admin, departments=["CARD", "ER", "NEURO"])

    # The header, the headline numbers and the bars, all over the three departments.
    wider = Scope.of({"CARD", "ER", "NEURO"})
    patients = compute_metric("patientCount", wider)
    staff = compute_metric("staffActivity", wider)
    expect(page.locator("#user-departments")).to_have_text(
        "CARD, ER, NEURO", timeout=FOLLOWS_WITHIN_MS
    )
    expect(page.locator("#user-level")).to_have_text("Admin")
    headline = dashboard.tile("patientCount").locator('[data-role="headline"]')
    expect(headline).to_have_text(f"{patients['total']:,}", timeout=FOLLOWS_WITHIN_MS)
    for code, value in patients["byDepartment"].items():
        row = dashboard.tile("patientCount").locator(f'[data-key="{code}"] .bar-value')
        expect(row).to_have_text(f"{value:,}", timeout=FOLLOWS_WITHIN_MS)
    bars = dashboard.tile("staffActivity").locator('[data-key="NEURO"]')
    expect(bars).to_have_count(1, timeout=FOLLOWS_WITHIN_MS)
    assert set(staff["byDepartment"]) <= {"CARD", "ER", "NEURO"}
    assert dashboard.shown_tiles() == TILES_FOR["admin"]

    # Made a viewer of ER alone: the badge says so, revenue goes, the rest show ER only.
    save_user_access(admin, demo_admin, level="viewer", departments=["ER"])
    expect(page.locator("#user-level")).to_have_text("Viewer", timeout=FOLLOWS_WITHIN_MS)
    expect(page.locator("#user-departments")).to_have_text("ER", timeout=FOLLOWS_WITHIN_MS)
    expect(dashboard.tile("revenue")).to_have_count(0, timeout=FOLLOWS_WITHIN_MS)
    er_only = compute_metric("patientCount", Scope.of({"ER"}))
    expect(headline).to_have_text(f"{er_only['total']:,}", timeout=FOLLOWS_WITHIN_MS)
    expect(dashboard.tile("patientCount").locator('[data-key="NEURO"]')).to_have_count(0)
    assert dashboard.shown_tiles() == TILES_FOR["viewer"]

    # And back to admin: revenue returns, subscribed and filled.
    save_user_access(admin, demo_admin, level="admin", departments=["CARD", "ER"])
    expect(page.locator("#user-level")).to_have_text("Admin", timeout=FOLLOWS_WITHIN_MS)
    revenue = dashboard.tile("revenue")
    expect(revenue).to_have_attribute("data-state", "ready", timeout=FOLLOWS_WITHIN_MS)
    assert dashboard.shown_tiles() == TILES_FOR["admin"]
    expect(page.locator("#connection-label")).to_have_text("Live")
