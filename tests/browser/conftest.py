"""The bundled dashboard in a real Chromium against a real server (`manage.py serve`).

Chromium is Debian's (/usr/bin/chromium); Playwright's sync API drives it from
the test's own thread, which also writes hospital data through
`metrics.store.get_database()` (plain synchronous calls, so no event loop is
involved). Every page's console is recorded: an error or a warning fails the test.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from metrics import store
from simulator.seed import seed_hospital
from tests.conftest import require
from tests.servers import DEMO_PASSWORDS, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
# A wall screen at its common size (DESKTOP is the smaller wall screen).
WALL = {"width": 1920, "height": 1080}
# The smallest touch target a phone user can hit reliably, in CSS pixels (WCAG 2.5.5).
TOUCH_PX = 44
# Live tiles in the order the page shows them: the emergency panel first.
ALL_TILES = [
    "emergencyAlerts",
    "patientCount",
    "roomOccupancy",
    "erWaiting",
    "todayAppointments",
    "revenue",
    "staffActivity",
    "dischargesToday",
]
TILES_FOR = {
    "superadmin": ALL_TILES,
    "admin": ALL_TILES,
    "viewer": [t for t in ALL_TILES if t != "revenue"],
}
# What Chromium itself logs when a socket or request cannot reach a server that is down on purpose.
SERVER_DOWN_MESSAGES = re.compile(
    r"WebSocket connection to '.*' failed|Failed to load resource: net::ERR_CONNECTION_REFUSED"
)

# What must be on the first screen of the wall layout (docs/dashboard.md): the emergency panel and
# every tile's headline figure, wholly in the window, with nothing scrolled and nothing to scroll
# in the page itself. The names of what is not.
OFF_SCREEN = """() => {
    const inView = (el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
            && r.right <= innerWidth;
    };
    const missing = [];
    const page = document.documentElement;
    if (page.scrollHeight > innerHeight) missing.push(`the page scrolls (${page.scrollHeight} px)`);
    if (scrollY !== 0 || document.querySelector('main').scrollTop !== 0) missing.push('scrolled');
    const panel = document.querySelector('#emergencies .emergency-panel');
    if (!panel || !inView(panel)) missing.push('the emergency panel');
    for (const tile of document.querySelectorAll('#dashboard-view .tile')) {
        const headline = tile.querySelector('[data-role="headline"]');
        if (!headline || !inView(headline)) missing.push(tile.dataset.metric);
    }
    return missing;
}"""
# Every control a finger may touch that is smaller than TOUCH_PX either way: "tag "text" w×h".
SMALL_TARGETS = """(least) => [...document.querySelectorAll(
        'button, a[href], input:not([type=hidden]), select, textarea, summary')]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
    .map((el) => [el, el.getBoundingClientRect()])
    .filter(([, box]) => box.width < least || box.height < least)
    .map(([el, box]) => `${el.tagName.toLowerCase()} "${(el.textContent || el.id).trim()}" `
        + `${Math.round(box.width)}×${Math.round(box.height)}`)"""
# The department names in the tiles as shown: code, text, title, cut (wider than its box),
# and how a cut shows.
DEPARTMENT_NAMES = """() => [...document.querySelectorAll('#dashboard-view .tile .dept-name')]
    .filter((el) => el.getClientRects().length)
    .map((el) => ({
        code: el.closest('.dept').querySelector('.dept-code').textContent,
        text: el.textContent, title: el.title,
        cut: el.scrollWidth > el.clientWidth, overflow: getComputedStyle(el).textOverflow,
    }))"""

# The hospital the page's tests seed: large enough for every tile, small enough to seed and serve
# in a few seconds (the demo's default is several times bigger, docs/simulator.md).
PAGE_PATIENTS = 3000


def seed_page_hospital(emergency_in: set[str] | None = None) -> None:
    """The page's hospital (PAGE_PATIENTS, seed 7, now) in the test's store.

    Which seeded emergencies are still open depends on the time of day: with `emergency_in`
    (the departments of the user a test signs in), one of them always has one to act on.
    """
    seed_hospital(
        store.get_database(),
        seed=7,
        patients=PAGE_PATIENTS,
        now=timezone.localtime(),
        currency=settings.HOSPITAL_CURRENCY,
    )
    if emergency_in and not open_emergencies(emergency_in):
        raise_emergency(sorted(emergency_in)[-1])


@pytest.fixture(scope="session")
def playwright_instance():
    require(
        os.path.exists(CHROMIUM),
        f"{CHROMIUM} is missing",
        "`make browser` installs Debian's chromium",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    chromium = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def server(tmp_path, hospital_store) -> Iterator[LiveServer]:
    """A seeded demo hospital served by a fresh dashboard server.

    The hospital is written before the server starts, so its listener begins at
    the current position of the change stream with every value already whole.
    """
    seed_page_hospital(emergency_in={"ER", "CARD"})
    running = LiveServer.start(tmp_path / "server", store_path=hospital_store)
    yield running
    running.stop()


def count(text: str) -> int:
    """A number as a tile shows it ("1,234")."""
    return int(text.replace(",", "").strip())


def admit_patient(department: str) -> None:
    """An admitted patient in `department`, through the store."""
    store.get_database().patients.insert_one(
        {
            "mrn": f"MRN-{ObjectId()}",
            "name": "Test Patient",
            "departmentId": department,
            "status": "admitted",
            "triageLevel": 2,
            "registeredAt": dt.datetime.now(dt.UTC),
            "dischargedAt": None,
            "isActive": True,
        }
    )


def raise_emergency(department: str) -> str:
    """Open an emergency workflow in `department`, through the store; its id."""
    now = dt.datetime.now(dt.UTC)
    result = store.get_database().workflows.insert_one(
        {
            "patientId": ObjectId(),
            "departmentId": department,
            "stage": "triage",
            "priority": "emergency",
            "startedAt": now,
            "updatedAt": now,
            "resolvedAt": None,
            "isActive": True,
        }
    )
    return str(result.inserted_id)


def only_emergencies(ages: list[dt.timedelta], department: str = "ER") -> list[str]:
    """Resolve every open emergency, then open one per age (started that long ago); their ids."""
    db = store.get_database()
    now = dt.datetime.now(dt.UTC)
    db.workflows.update_many(
        {"priority": "emergency", "resolvedAt": None},
        {"$set": {"stage": "done", "resolvedAt": now, "updatedAt": now}},
    )
    ids = []
    for age in ages:
        started = now - age
        result = db.workflows.insert_one(
            {
                "patientId": ObjectId(),
                "departmentId": department,
                "stage": "treatment",
                "priority": "emergency",
                "startedAt": started,
                "updatedAt": started,
                "resolvedAt": None,
                "isActive": True,
            }
        )
        ids.append(str(result.inserted_id))
    return ids


def open_emergencies(departments: set[str] | None = None) -> list[dict]:
    """Open emergency workflows straight from the store (what the alerts tile lists)."""
    query = {"isActive": True, "priority": "emergency", "resolvedAt": None}
    if departments is not None:
        query["departmentId"] = {"$in": sorted(departments)}
    return list(store.get_database().workflows.find(query))


@dataclass
class Console:
    """What a page printed: errors and warnings fail the test unless expected."""

    problems: list[str] = field(default_factory=list)
    expected: list[re.Pattern] = field(default_factory=list)

    def record(self, kind: str, text: str) -> None:
        if any(pattern.search(text) for pattern in self.expected):
            return
        self.problems.append(f"{kind}: {text}")


@dataclass
class Dashboard:
    """One browser page on the dashboard."""

    page: object
    console: Console
    server: LiveServer

    def sign_in(self, username: str, password: str | None = None) -> None:
        page = self.page
        page.goto(self.server.url + "/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password or DEMO_PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()

    def wait_until_filled(self, username: str) -> None:
        """Every tile the user may see shows a value and the trends are drawn."""
        tiles = TILES_FOR[username]
        page = self.page
        page.locator('#dashboard-view .tile[data-state="ready"]').nth(len(tiles) - 1).wait_for()
        page.locator("#chart-activity canvas").wait_for()
        page.wait_for_function(
            "() => !document.getElementById('history').hasAttribute('aria-busy')"
        )

    def tile(self, metric: str):
        return self.page.locator(f'#dashboard-view .tile[data-metric="{metric}"]')

    def shown_tiles(self) -> list[str]:
        return self.page.locator("#dashboard-view .tile").evaluate_all(
            "els => els.map(e => e.dataset.metric)"
        )

    def row_value(self, metric: str, key: str) -> str:
        return self.tile(metric).locator(f'[data-key="{key}"] .bar-value').inner_text()

    def headline(self, metric: str) -> str:
        return self.tile(metric).locator('[data-role="headline"]').inner_text()

    def status(self) -> str:
        return self.page.locator("#connection-label").inner_text()

    def settle(self) -> None:
        """No highlight left on screen (for screenshots)."""
        self.page.wait_for_function("() => !document.querySelector('.is-changed')", timeout=10_000)

    def status_fits(self) -> bool:
        """The connection's sentence is shown whole (not cut with an ellipsis)."""
        return self.page.locator("#connection-detail").evaluate(
            "el => el.textContent.length > 0 && el.scrollWidth <= el.clientWidth + 1"
        )

    def overflow(self) -> int:
        """How many pixels the page is wider than the window (0: nothing overflows)."""
        return self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )

    def first_screen_missing(self) -> list[str]:
        """What of the wall layout's first screen is not in the window (empty: all of it is),
        once the layout has settled (the first row of tiles is fitted a frame after a change)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        try:
            self.page.wait_for_function(f"() => ({OFF_SCREEN})().length === 0", timeout=5_000)
        except PlaywrightTimeoutError:
            pass  # reported below
        return self.page.evaluate(OFF_SCREEN)

    def small_targets(self) -> list[str]:
        """Visible buttons, links, fields and disclosures smaller than a finger (TOUCH_PX)."""
        return self.page.evaluate(SMALL_TARGETS, TOUCH_PX)

    def department_names(self) -> list[dict]:
        return self.page.evaluate(DEPARTMENT_NAMES)

    def axe(self) -> list[str]:
        """Serious and critical axe-core violations of the page as it is (axe injected through
        the DevTools protocol, so the page's Content-Security-Policy does not apply to it)."""
        page = self.page
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE.read_text())
        results = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => `${v.impact} ${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"
        )
        return results

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        return path


@pytest.fixture
def open_page(browser, server) -> Iterator[Callable[..., Dashboard]]:
    """Open dashboard pages (each in its own browser context, so its own sessionStorage)."""
    opened: list[tuple[object, Dashboard]] = []

    def open_(viewport: dict | None = None, expect_console: list[str] = ()) -> Dashboard:
        context = browser.new_context(
            viewport=viewport or DESKTOP, locale="en-US", reduced_motion="no-preference"
        )
        page = context.new_page()
        console = Console(expected=[re.compile(p) for p in expect_console])
        page.on(
            "console", lambda m: m.type in ("error", "warning") and console.record(m.type, m.text)
        )
        page.on("pageerror", lambda e: console.record("uncaught", str(e)))
        dashboard = Dashboard(page, console, server)
        opened.append((context, dashboard))
        return dashboard

    yield open_
    problems = [p for _, d in opened for p in d.console.problems]
    for context, _ in opened:
        context.close()
    assert not problems, "the browser console reported:\n" + "\n".join(problems)
