"""The page view itself, through Django's test client (no browser needed)."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    return client.get("/")


def test_the_dashboard_page_is_served_at_the_root(page):
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert b'id="login-form"' in page.content


def test_the_page_has_a_strict_content_security_policy(page):
    policy = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws: wss:"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in page["Content-Security-Policy"]


def test_the_page_sets_no_cookie_and_is_not_cached(page):
    assert not page.cookies
    assert "no-store" in page["Cache-Control"]


def test_the_page_has_no_inline_script_or_style(page):
    html = page.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_everything_the_page_loads_is_served_from_static(page):
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(assets) >= 4
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_only_get_is_allowed(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert client.post("/").status_code == 405


def test_the_favicon_is_found_where_browsers_look_for_it(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/dashboard/favicon.svg"
    assert finders.find("dashboard/favicon.svg")
