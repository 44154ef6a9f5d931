"""Acknowledging an emergency alert: one service, and one event after the write commits.

Whoever asks (the WebSocket consumer today), the acknowledgement is written
here, once: the first one stands. When a new one commits, `alert_acknowledged`
is sent; the live app refreshes and broadcasts emergencyAlerts on it, so every
subscriber sees the alert marked (the value merges acknowledgements in
metrics/compute/alerts.py).
"""

from __future__ import annotations

from typing import Any, Protocol

from bson import ObjectId
from bson.errors import InvalidId
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .models import AlertAcknowledgement
from .store import get_database

# Sent on commit of a new acknowledgement, with `acknowledgement`.
alert_acknowledged = Signal()


class Acknowledger(Protocol):
    """What the service needs to know of the user (accounts.policy.Access)."""

    user_id: int | None
    username: str

    def can_acknowledge(self, department_id: Any) -> bool: ...


class AlertNotFound(Exception):
    """No open emergency alert has that id."""


class AlertForbidden(Exception):
    """The alert is outside the user's departments (or the user is read-only)."""


def _workflow_key(alert_id: str) -> Any:
    try:
        return ObjectId(alert_id)
    except (InvalidId, TypeError):
        return alert_id


def acknowledge_alert(*, access: Acknowledger, alert_id: str) -> AlertAcknowledgement:
    """Record that `access`'s user has seen an open emergency; the first acknowledgement stands."""
    workflow = get_database().workflows.find_one(
        {"_id": _workflow_key(alert_id), "isActive": True, "priority": "emergency"}
    )
    if workflow is None or workflow.get("resolvedAt") is not None:
        raise AlertNotFound(alert_id)
    department = workflow.get("departmentId")
    if not access.can_acknowledge(department):
        raise AlertForbidden(alert_id)
    with transaction.atomic():
        # Stored under the id as the metric lists it ("64AF…" and "64af…" are one alert).
        acknowledgement, created = AlertAcknowledgement.objects.get_or_create(
            alert_id=str(workflow["_id"]),
            defaults={
                "department_id": department or "",
                "acknowledged_by_id": access.user_id,
                "acknowledged_by_username": access.username,
                "acknowledged_at": timezone.now(),
            },
        )
        if created:
            transaction.on_commit(
                lambda: alert_acknowledged.send(
                    AlertAcknowledgement, acknowledgement=acknowledgement
                )
            )
    return acknowledgement
