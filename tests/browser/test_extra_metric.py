"""A metric module added by setting alone gets its tile on the page, drawn by the generic
renderer its declaration names, and kept live (tests/metrics/extra/maintenance.py)."""

from __future__ import annotations

import pytest

from metrics import store
from tests.servers import LiveServer

from .conftest import DESKTOP, Console, Dashboard, seed_page_hospital

METRIC = "roomsInMaintenance"


@pytest.fixture
def extra_server(tmp_path, hospital_store):
    seed_page_hospital()
    running = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={"DASHBOARD_EXTRA_METRICS": "tests.metrics.extra.maintenance"},
    )
    yield running
    running.stop()


def test_the_tile_of_an_added_metric_shows_and_moves(browser, extra_server):
    db = store.get_database()
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    console = Console()
    page.on("console", lambda m: m.type in ("error", "warning") and console.record(m.type, m.text))
    page.on("pageerror", lambda e: console.record("uncaught", str(e)))
    dashboard = Dashboard(page, console, extra_server)
    try:
        dashboard.sign_in("superadmin")
        tile = dashboard.tile(METRIC)
        tile.and_(page.locator('[data-state="ready"]')).wait_for()
        assert tile.locator(".tile-title").inner_text().startswith("Rooms in maintenance")
        expected = db.rooms.count_documents({"isActive": True, "status": "maintenance"})
        assert dashboard.headline(METRIC) == str(expected)
        db.rooms.insert_one(
            {
                "number": "X-1",
                "departmentId": "CARD",
                "type": "ward",
                "status": "maintenance",
                "capacity": 2,
                "occupiedBeds": 0,
                "isActive": True,
            }
        )
        page.wait_for_function(
            f"""() => document.querySelector('.tile[data-metric="{METRIC}"] [data-role="headline"]')
                 .textContent === "{expected + 1}" """,
            timeout=20_000,
        )
        tile.scroll_into_view_if_needed()
        dashboard.settle()
        tile.screenshot(path=str(extra_server.workdir / "extra-tile.png"))
    finally:
        context.close()
    assert not console.problems, console.problems
