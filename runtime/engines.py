"""Production runs on the hospital's engines, never on the embedded ones by accident.

With DJANGO_DEBUG off, `serve` and `watch_changes` start only with MONGODB_URI
and Redis (REDIS_URL or REDIS_SENTINELS) set, or with DASHBOARD_EMBEDDED=true,
which asks for the embedded store, the in-process channel layer and the
local-memory cache in place of whichever is missing. Otherwise a production
dashboard would silently read a local file instead of the hospital's MongoDB.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from .dependencies import redis_configured


def missing_engines() -> list[str]:
    """The variables a production start lacks; empty in DEBUG or when embedded parts are asked."""
    if settings.DEBUG or settings.DASHBOARD_EMBEDDED:
        return []
    missing = [] if settings.MONGODB_URI else ["MONGODB_URI"]
    if not redis_configured():
        missing.append("REDIS_URL")
    return missing


def require_engines(command: str) -> None:
    """Refuse to start `command` in production without the hospital's MongoDB and Redis."""
    missing = missing_engines()
    if missing:
        names = " and ".join(missing)
        raise CommandError(
            f"{command} refuses to start: DJANGO_DEBUG is off and {names} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Set {names} (docs/configuration.md), "
            "or DASHBOARD_EMBEDDED=true to run on the embedded parts on purpose."
        )
