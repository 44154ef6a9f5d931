"""Single sign-on in Chromium: the page signs in through the provider (authorization code with
PKCE), runs live on the provider's token, renews it at the provider, and local accounts can be
turned off (tests/oidc_provider.py is the provider, on loopback)."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import DESKTOP, Console, Dashboard, seed_page_hospital
from tests.oidc_provider import Provider
from tests.servers import LiveServer

TOKENS_KEY = "hospital-dashboard.tokens"


@pytest.fixture
def provider():
    running = Provider(token_seconds=20).start()
    running.people["alice"] = {
        "groups": ["dash-admin"],
        "departments": ["ER", "CARD"],
        "given_name": "Alice",
    }
    running.signing_in = "alice"
    yield running
    running.stop()


def start_server(tmp_path, hospital_store, provider: Provider, **extra: str) -> LiveServer:
    seed_page_hospital()
    return LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={
            "DASHBOARD_OIDC_ISSUER": provider.issuer,
            "DASHBOARD_OIDC_CLIENT_ID": provider.client_id,
            "DASHBOARD_OIDC_AUDIENCE": provider.audience,
            "DASHBOARD_OIDC_PROVIDER_NAME": "Hospital SSO",
            "DASHBOARD_OIDC_LEVEL_GROUPS": "super_admin=dash-super,admin=dash-admin,viewer=dash-viewer",
            **extra,
        },
    )


@pytest.fixture
def page_on(browser):
    opened = []

    def open_(server: LiveServer) -> Dashboard:
        context = browser.new_context(viewport=DESKTOP, locale="en-US")
        page = context.new_page()
        console = Console()
        page.on(
            "console", lambda m: m.type in ("error", "warning") and console.record(m.type, m.text)
        )
        page.on("pageerror", lambda e: console.record("uncaught", str(e)))
        board = Dashboard(page, console, server)
        opened.append((context, board))
        return board

    yield open_
    problems = [p for _, board in opened for p in board.console.problems]
    for context, _ in opened:
        context.close()
    assert not problems, "the browser console reported:\n" + "\n".join(problems)


def test_the_page_signs_in_through_the_provider_and_renews_there(
    tmp_path, hospital_store, provider, page_on
):
    server = start_server(tmp_path, hospital_store, provider)
    try:
        board = page_on(server)
        page = board.page
        page.goto(server.url + "/")
        sso = page.get_by_role("button", name="Sign in with Hospital SSO")
        sso.wait_for()
        assert page.get_by_label("Username").is_visible()  # local accounts still work beside it
        board.screenshot("sso-sign-in")
        sso.click()
        # Off to the provider and back with a code, exchanged with the PKCE verifier.
        page.locator('#dashboard-view .tile[data-state="ready"]').nth(7).wait_for(timeout=30_000)
        assert page.url == server.url + "/"  # the code and state are gone from the address
        assert page.locator("#user-name").inner_text() == "alice"
        assert page.locator("#user-level").inner_text() == "Admin"
        assert page.locator("#user-departments").inner_text() == "CARD, ER"
        assert board.status() == "Live"
        tokens = json.loads(page.evaluate(f"() => sessionStorage.getItem('{TOKENS_KEY}')"))
        assert tokens["provider"] is True and tokens["access"].count(".") == 2
        # 20-second tokens: renewed at the provider (refresh token grant), still live.
        first = tokens["access"]
        page.wait_for_function(
            f"() => JSON.parse(sessionStorage.getItem('{TOKENS_KEY}')).access !== {json.dumps(first)}",
            timeout=30_000,
        )
        assert board.status() == "Live"
        # Sign out forgets the provider's tokens.
        page.get_by_role("button", name="Sign out").click()
        page.locator("#login-view").wait_for()
        assert page.evaluate(f"() => sessionStorage.getItem('{TOKENS_KEY}')") is None
    finally:
        server.stop()


def test_local_accounts_off_leaves_only_the_provider(tmp_path, hospital_store, provider, page_on):
    server = start_server(tmp_path, hospital_store, provider, DASHBOARD_LOCAL_ACCOUNTS="false")
    try:
        board = page_on(server)
        page = board.page
        page.goto(server.url + "/")
        page.get_by_role("button", name="Sign in with Hospital SSO").wait_for()
        assert page.locator("#local-fields").is_hidden()
        assert page.locator("#login-or").is_hidden()
        board.screenshot("sso-only")
        page.get_by_role("button", name="Sign in with Hospital SSO").click()
        page.locator("#user-name").wait_for()
        assert page.locator("#user-name").inner_text() == "alice"
    finally:
        server.stop()
