"""Fixtures shared by the whole suite: a fresh hospital store per test, Redis, caches."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from django.core.cache import cache

from audit.writer import writer as audit_writer
from metrics import store
from tests.servers import server_database

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


# Fixtures through which a test reaches Django's own database (pytest-django's, and ours).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


def pytest_itemcollected(item):
    """Mark every test that touches Django's database `database` (before `-m` selects).

    `make test` runs those again with DATABASE_URL pointing at PostgreSQL (docs/testing.md).
    """
    if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(
        getattr(item, "fixturenames", ())
    ):
        item.add_marker(pytest.mark.database)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests last, after pytest-django's own ordering by database use.

    Playwright's sync API keeps its event loop running in the main thread for
    as long as the browser (a session fixture) is open; an asyncio test after
    it could not start its own loop.
    """
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))


@pytest.fixture(autouse=True)
def hospital_store(settings, tmp_path):
    """Every test starts with an empty embedded store of its own (a file, so subprocesses share it)."""
    settings.EMBEDDED_STORE_PATH = str(tmp_path / "hospital-store.sqlite3")
    settings.MONGODB_URI = None
    # pytest-django turns DEBUG off; the commands a test runs in-process use the embedded parts
    # on purpose, as production may only when asked (runtime/engines.py).
    settings.DASHBOARD_EMBEDDED = True
    store.reset_client()
    cache.clear()
    yield settings.EMBEDDED_STORE_PATH
    store.reset_client()


@pytest.fixture(autouse=True)
def audit_queue():
    """In-process, the audit queue is written only when a test drains it (`audit_writer.drain()`,
    in the test's own transaction); what a test leaves queued is forgotten. Servers a test starts
    run the writer's thread as in production."""
    audit_writer.autostart = False
    audit_writer.discard()
    yield audit_writer
    audit_writer.discard()


@pytest.fixture
def hospital_db(hospital_store):
    """The hospital database through the one seam the code uses."""
    return store.get_database()


def _redis_up() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def require(available: bool, message: str, in_ci: str) -> None:
    """A service the tests need: missing, a failure in CI (`in_ci` says how CI provides it),
    a skip on a developer's machine without it."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{message} ({in_ci})")
    pytest.skip(message)


@pytest.fixture
def redis_url():
    """The local Redis server."""
    require(_redis_up(), f"Redis is not running on {REDIS_HOST}:{REDIS_PORT}", ".ci/run starts it")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture
def unique_prefix():
    """A key prefix no other test (or running instance) uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def server_database_url(tmp_path):
    """Django's database for a server the test starts: its own SQLite file, or, when the run
    uses PostgreSQL (DATABASE_URL), its own PostgreSQL database, dropped afterwards."""
    with server_database(tmp_path) as url:
        yield url
