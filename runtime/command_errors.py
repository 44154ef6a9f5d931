"""Management commands fail with one clear line, never a traceback.

Django prints a `CommandError` as one line on stderr and exits 1; any other
exception ends a command with a traceback. `clear_failures` wraps a command's
`handle()` and turns the failures a user can act on (Django's database
unreachable, locked or not migrated; MongoDB unreachable) into `CommandError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from pymongo.errors import PyMongoError

MISSING_TABLE_SQLSTATE = "42P01"  # PostgreSQL's undefined_table


def clear_failures(handle: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command's `handle()`: database and MongoDB failures become a CommandError."""

    @functools.wraps(handle)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handle(*args, **kwargs)
        except DatabaseError as exc:
            raise CommandError(database_failure(exc)) from None
        except PyMongoError as exc:
            raise CommandError(mongodb_failure(exc)) from None

    return wrapper


def database_failure(exc: DatabaseError) -> str:
    """One line on a failure of Django's own database, with what to do where it is known."""
    detail = _first_line(exc)
    where = _database_name()
    if "no such table" in detail or getattr(exc.__cause__, "sqlstate", None) == (
        MISSING_TABLE_SQLSTATE
    ):
        return (
            f"Django's database ({where}) has no tables yet: "
            f"run `python manage.py migrate` first ({detail})."
        )
    if "database is locked" in detail:
        return (
            f"Django's database ({where}) stayed locked by another process for longer than "
            f"the busy timeout: try again ({detail})."
        )
    return f"Django's database ({where}) failed: {detail}"


def mongodb_failure(exc: PyMongoError) -> str:
    """One line on a MongoDB failure (pymongo's server-selection message is cut to its start)."""
    detail = _first_line(exc).split(", Timeout:")[0]
    return f"MongoDB (MONGODB_URI) is unreachable or refused the request: {detail}"


def _database_name() -> str:
    """The database as an operator knows it: a file for SQLite, host:port/name otherwise."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {settings['NAME']}"
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"{connection.display_name} {host}{port}/{settings['NAME']}"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
