"""What the consumer asks of the rest of the system, run off the event loop.

Metric reads go to worker threads (they may query MongoDB); anything that
touches Django's database closes stale connections afterwards.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from bson import ObjectId
from bson.errors import InvalidId
from django.db import close_old_connections
from django.utils import timezone

from accounts.policy import Access
from metrics.models import AlertAcknowledgement
from metrics.store import get_database


def off_loop(function):
    """Run a synchronous function in a worker thread, closing stale DB connections after it."""

    def call(*args: Any, **kwargs: Any):
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False)


class AlertNotFound(Exception):
    pass


class AlertForbidden(Exception):
    pass


def _workflow_key(alert_id: str) -> Any:
    try:
        return ObjectId(alert_id)
    except (InvalidId, TypeError):
        return alert_id


def acknowledge_alert(access: Access, alert_id: str) -> AlertAcknowledgement:
    """Record that `access`'s user has seen an open emergency; idempotent (the first one stands)."""
    workflow = get_database().workflows.find_one(
        {"_id": _workflow_key(alert_id), "isActive": True, "priority": "emergency"}
    )
    if workflow is None or workflow.get("resolvedAt") is not None:
        raise AlertNotFound(alert_id)
    department = workflow.get("departmentId")
    if not access.can_acknowledge(department):
        raise AlertForbidden(alert_id)
    # Stored under the id as the metric lists it ("64AF…" and "64af…" are one alert).
    acknowledgement, _ = AlertAcknowledgement.objects.get_or_create(
        alert_id=str(workflow["_id"]),
        defaults={
            "department_id": department or "",
            "acknowledged_by_id": access.user_id,
            "acknowledged_by_username": access.username,
            "acknowledged_at": timezone.now(),
        },
    )
    return acknowledgement
