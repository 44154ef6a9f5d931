"""Concurrent rotations of one refresh token on PostgreSQL, at each isolation level it offers.

At READ COMMITTED the loser finds the winner's blacklist entry; at REPEATABLE READ it
cannot see it and hits the unique constraint; at SERIALIZABLE it may get a serialization
failure instead. Each way: one 200, the others 401 `invalid_token`, never a 500.
`make test` runs these in its PostgreSQL pass (marker `postgres`).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from tests.conftest import require

from .conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AT_ONCE = 8


@pytest.fixture(params=["READ_COMMITTED", "REPEATABLE_READ", "SERIALIZABLE"])
def isolation(request, transactional_db):
    """New connections (each worker thread opens its own) use this isolation level."""
    require(
        connection.vendor == "postgresql",
        "needs Django's database on PostgreSQL (DATABASE_URL=postgres://...)",
        "make test runs the postgres tests with DATABASE_URL set",
    )
    from psycopg import IsolationLevel

    level = IsolationLevel[request.param]
    options = connection.settings_dict["OPTIONS"]  # shared by every thread's connection
    options["isolation_level"] = level
    yield level
    options.pop("isolation_level")


def rotate_together(refresh: str) -> list[tuple[int, dict, object]]:
    start = threading.Barrier(AT_ONCE)

    def rotate(_):
        start.wait()
        try:
            response = APIClient().post(
                "/api/auth/token/refresh/", {"refresh": refresh}, format="json"
            )
            return response.status_code, response.json(), connection.isolation_level
        finally:
            connection.close()

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(rotate, range(AT_ONCE)))


def test_one_rotation_wins_and_the_others_are_refused(isolation, make_user, api):
    make_user("ada", level="viewer")
    for _ in range(5):
        login = api.post(
            "/api/auth/token/", {"username": "ada", "password": PASSWORD}, format="json"
        )
        assert login.status_code == 200
        answers = rotate_together(login.json()["refresh"])

        assert {level for _, _, level in answers} == {isolation}
        assert sorted(status for status, _, _ in answers) == [200] + [401] * (AT_ONCE - 1)
        assert {body["code"] for status, body, _ in answers if status == 401} == {"invalid_token"}
    connections.close_all()
