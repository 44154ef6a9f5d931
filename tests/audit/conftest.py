"""Entries written the way the writer writes them (audit/chain.py), in the test's transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from audit import chain
from audit.entries import Actor, Where, entry


def content(number: int, when: dt.datetime | None = None) -> dict:
    return entry(
        "signin",
        "failure" if number % 2 else "success",
        Actor(user_id=number, username=f"user-{number}", level="admin", departments="CARD,ER"),
        Where(address=f"192.0.2.{number % 250}", user_agent="pytest", channel="api"),
        time=when,
        reason="invalid_credentials",
    )


@pytest.fixture
def written(db):
    """write(n, when=None): n entries appended to the chain; the entries."""

    def write(count: int, when: dt.datetime | None = None):
        return chain.append([content(n, when) for n in range(count)])

    return write
