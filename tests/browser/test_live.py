"""What a person watching the page sees when the hospital changes, and when someone acts."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .conftest import admit_patient, count, raise_emergency

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_admitted_patient_shows_on_screen_within_two_seconds(open_page):
    dashboard = open_page()
    dashboard.sign_in("superadmin")
    dashboard.wait_until_filled("superadmin")
    tile = dashboard.tile("patientCount")
    er_before = count(dashboard.row_value("patientCount", "ER"))
    total_before = count(dashboard.headline("patientCount"))

    started = time.monotonic()
    admit_patient("ER")
    expect(tile.locator('[data-key="ER"] .bar-value')).to_have_text(
        f"{er_before + 1:,}", timeout=2_000
    )
    assert time.monotonic() - started < 2.0
    expect(tile.locator('[data-role="headline"]')).to_have_text(f"{total_before + 1:,}")
    # The change is marked for a moment, quietly, on the row that changed.
    expect(tile).to_have_class("tile tile-patientCount is-changed")
    expect(tile.locator('[data-key="ER"]')).to_have_class("bar-row is-changed")
    # No ring around the tile: only a faint wash on what changed.
    assert tile.evaluate("el => getComputedStyle(el).animationName") == "none"
    assert tile.locator('[data-key="ER"]').evaluate("el => getComputedStyle(el).animationName") == (
        "row-changed"
    )
    expect(tile).not_to_have_class("tile tile-patientCount is-changed", timeout=5_000)
    expect(tile.locator(".tile-age")).to_contain_text("just now")


def test_an_admin_sees_a_write_outside_its_departments_change_nothing(open_page):
    dashboard = open_page()
    dashboard.sign_in("admin")
    dashboard.wait_until_filled("admin")
    total_before = count(dashboard.headline("patientCount"))

    admit_patient("NEURO")
    admit_patient("CARD")
    tile = dashboard.tile("patientCount")
    expect(tile.locator('[data-role="headline"]')).to_have_text(
        f"{total_before + 1:,}", timeout=3_000
    )
    expect(dashboard.page.locator("#tiles")).not_to_contain_text("NEURO")


def test_an_acknowledgement_on_one_page_shows_on_the_others(open_page):
    alert_id = raise_emergency("ER")
    admin, superadmin, viewer = open_page(), open_page(), open_page()
    for dashboard, name in ((admin, "admin"), (superadmin, "superadmin"), (viewer, "viewer")):
        dashboard.sign_in(name)
        dashboard.wait_until_filled(name)
    item = f'[data-alert-id="{alert_id}"]'
    for dashboard in (admin, superadmin, viewer):
        expect(dashboard.tile("emergencyAlerts").locator(item)).to_be_visible()
    expect(viewer.tile("emergencyAlerts").locator(item).get_by_role("button")).to_have_count(0)

    admin.tile("emergencyAlerts").locator(item).get_by_role("button", name="Acknowledge").click()

    for dashboard in (admin, superadmin, viewer):
        alert = dashboard.tile("emergencyAlerts").locator(item)
        expect(alert.locator('[data-role="acknowledgement"]')).to_contain_text(
            "Acknowledged by admin", timeout=3_000
        )
        expect(alert.get_by_role("button")).to_have_count(0)
    # It leaves the waiting alerts for the acknowledged ones, which no longer count as waiting.
    panel = superadmin.tile("emergencyAlerts")
    expect(panel.locator(f".ack-list {item}")).to_have_class("alert is-acknowledged")
    expect(panel.locator(f".alert-grid {item}")).to_have_count(0)
    waiting = panel.locator(".alert-grid [data-alert-id]").count()
    expect(panel.locator('[data-role="headline"]')).to_have_text(str(waiting))
