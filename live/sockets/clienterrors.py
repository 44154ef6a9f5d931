"""Clients' mistakes in the log: one WARNING line each, with the client's address, and few of them.

A request with a Host the dashboard does not serve, or a text frame that is
not UTF-8, is the client's doing: the servers would log it as an ERROR with
a traceback, once per request, and a scanner could fill the log. Here each is
one line (`client error from 203.0.113.9: host 'evil.com' not allowed`), at
most DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE of them a minute in a process;
past that, one line at the end of the minute says how many were left out.
Both servers and the host check report through `report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings

logger = logging.getLogger("dashboard.clients")

WINDOW_SECONDS = 60.0
_clock = time.monotonic  # replaced in tests, never the event loop's own clock


class _Budget:
    """Lines allowed in the current window, and how many were left out of it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window_start = float("-inf")
        self.logged = 0
        self.suppressed = 0
        self.flush_scheduled = False


_budget = _Budget()


def address(client: Sequence[Any] | None) -> str:
    """An ASGI `client` (host, port) as the log shows it."""
    return str(client[0]) if client else "unknown"


def report(client: Sequence[Any] | None, what: str) -> None:
    """Log one client error (`what` happened, from `client`), unless the minute's lines are spent."""
    now = _clock()
    with _budget.lock:
        summary = _roll_window(now)
        allowed = _budget.logged < settings.DASHBOARD_CLIENT_ERROR_LOG_PER_MINUTE
        if allowed:
            _budget.logged += 1
        else:
            _budget.suppressed += 1
            schedule = not _budget.flush_scheduled
            _budget.flush_scheduled = True
    if summary:
        logger.warning(summary)
    if allowed:
        logger.warning("client error from %s: %s", address(client), what)
    elif schedule:
        _flush_later(_budget.window_start + WINDOW_SECONDS - now)


def _roll_window(now: float) -> str | None:
    """Start a new window if the current one is over; the line owed for the old one, if any."""
    if now - _budget.window_start < WINDOW_SECONDS:
        return None
    summary = _summary()
    _budget.window_start = now
    _budget.logged = 0
    return summary


def _summary() -> str | None:
    count, _budget.suppressed = _budget.suppressed, 0
    _budget.flush_scheduled = False
    return f"{count} more client errors suppressed in the last minute" if count else None


def flush() -> None:
    """Log the line about the current window's left-out errors now (at the window's end)."""
    with _budget.lock:
        summary = _summary()
    if summary:
        logger.warning(summary)


def _flush_later(delay: float) -> None:
    # Both servers run an asyncio loop (daphne through Twisted's asyncio reactor); without one
    # (a test calling report directly) the line waits for the next report after the window.
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_later(max(delay, 0.0), flush)


def reset() -> None:
    """Forget the current window (tests)."""
    with _budget.lock:
        _budget.window_start = float("-inf")
        _budget.logged = _budget.suppressed = 0
        _budget.flush_scheduled = False
