"""Running the system's synchronous services from the event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def off_loop(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run a synchronous function in a worker thread, closing stale DB connections after it.

    Metric reads may query MongoDB, and services touch Django's database; neither
    may block the event loop that serves every socket of the process.
    """

    def call(*args: Any, **kwargs: Any) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)
