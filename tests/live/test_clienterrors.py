"""Client errors in the log: one line each up to the minute's budget, then one line for the rest."""

from __future__ import annotations

import asyncio
import logging

import pytest

from live.sockets import clienterrors


@pytest.fixture
def budget(settings, monkeypatch):
    settings.DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE = 3
    clock = [1000.0]
    monkeypatch.setattr(clienterrors, "_clock", lambda: clock[0])
    clienterrors.reset()
    yield clock
    clienterrors.reset()


def test_past_the_budget_one_line_counts_the_rest(budget, caplog):
    caplog.set_level(logging.WARNING, logger="dashboard.clients")
    for number in range(10):
        clienterrors.report(("198.51.100.7", 5000 + number), f"host 'evil{number}.com' not allowed")
    budget[0] += clienterrors.WINDOW_SECONDS
    clienterrors.report(None, "invalid UTF-8 in a text frame (closed 1007)")

    assert [record.getMessage() for record in caplog.records] == [
        "client error from 198.51.100.7: host 'evil0.com' not allowed",
        "client error from 198.51.100.7: host 'evil1.com' not allowed",
        "client error from 198.51.100.7: host 'evil2.com' not allowed",
        "7 more client errors suppressed in the last minute",
        "client error from unknown: invalid UTF-8 in a text frame (closed 1007)",
    ]
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in caplog.records)


async def test_the_count_is_logged_at_the_end_of_the_minute_without_another_error(
    settings, caplog, monkeypatch
):
    settings.DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE = 3
    clienterrors.reset()
    caplog.set_level(logging.WARNING, logger="dashboard.clients")
    monkeypatch.setattr(clienterrors, "WINDOW_SECONDS", 0.05)
    for _ in range(5):
        clienterrors.report(("203.0.113.1", 1), "host 'x' not allowed")

    await asyncio.sleep(0.2)

    assert caplog.records[-1].getMessage() == "2 more client errors suppressed in the last minute"
    clienterrors.reset()
