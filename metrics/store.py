"""The one way the code reaches the hospital data: `get_database()`.

With MONGODB_URI set it is a real replica set through pymongo; otherwise the
embedded store (the `embedded_mongo` package), which speaks the same pymongo API. No other
module imports pymongo's client or the embedded store directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from django.conf import settings
from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient

from embedded_mongo import EmbeddedClient

logger = logging.getLogger("dashboard.store")

_lock = threading.Lock()
_client: Any = None
_indexes_ensured: set[int] = set()

# The indexes the metric pipelines match and sort on (see metrics/catalogue.py).
INDEXES: dict[str, list[IndexModel]] = {
    "patients": [
        IndexModel(
            [("isActive", ASCENDING), ("status", ASCENDING), ("departmentId", ASCENDING)],
            name="active_status_department",
        ),
        IndexModel([("registeredAt", ASCENDING)], name="registered_at"),
    ],
    "appointments": [
        IndexModel(
            [("isActive", ASCENDING), ("scheduledAt", ASCENDING), ("departmentId", ASCENDING)],
            name="active_scheduled_department",
        ),
    ],
    "rooms": [
        IndexModel(
            [("isActive", ASCENDING), ("departmentId", ASCENDING)], name="active_department"
        ),
    ],
    "bills": [
        IndexModel(
            [("isActive", ASCENDING), ("status", ASCENDING), ("paidAt", ASCENDING)],
            name="active_status_paid_at",
        ),
    ],
    "workflows": [
        IndexModel(
            [
                ("isActive", ASCENDING),
                ("priority", ASCENDING),
                ("resolvedAt", ASCENDING),
                ("startedAt", DESCENDING),
            ],
            name="active_priority_open",
        ),
        IndexModel(
            [("isActive", ASCENDING), ("priority", ASCENDING), ("startedAt", ASCENDING)],
            name="active_priority_started",
        ),
    ],
    "staff": [
        IndexModel(
            [("isActive", ASCENDING), ("departmentId", ASCENDING)], name="active_department"
        ),
    ],
}


def get_client() -> Any:
    """The process's client: pymongo's MongoClient or the embedded one."""
    global _client
    with _lock:
        if _client is None:
            if settings.MONGODB_URI:
                timeout = settings.MONGODB_TIMEOUT_MS
                _client = MongoClient(
                    settings.MONGODB_URI,
                    serverSelectionTimeoutMS=timeout,
                    connectTimeoutMS=timeout,
                    socketTimeoutMS=max(timeout * 5, 10_000),
                    appname="hospital-live-dashboard",
                )
            else:
                _client = EmbeddedClient(
                    settings.EMBEDDED_STORE_PATH, history=settings.EMBEDDED_STORE_HISTORY
                )
        return _client


def get_database() -> Any:
    """The pymongo-compatible hospital database, real or embedded. Writes show on its change streams."""
    database = get_client()[settings.MONGODB_DB]
    key = id(_client)
    if key not in _indexes_ensured:
        ensure_indexes(database)
        _indexes_ensured.add(key)
    return database


async def ping_mongodb(timeout: float) -> None:
    """Raise unless the hospital database answers within `timeout` seconds."""
    await asyncio.wait_for(asyncio.to_thread(lambda: get_database().command("ping")), timeout)


def ensure_indexes(database: Any) -> None:
    """Create the metric indexes; idempotent on MongoDB and on the embedded store."""
    for collection, models in INDEXES.items():
        database[collection].create_indexes(models)


def reset_client() -> None:
    """Forget the process's client (tests and settings changes)."""
    global _client
    with _lock:
        if _client is not None and not isinstance(_client, EmbeddedClient):
            _client.close()
        _client = None
        _indexes_ensured.clear()
