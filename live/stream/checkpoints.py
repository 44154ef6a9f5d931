"""The listener's position in the change stream, kept in the dashboard's own database."""

from __future__ import annotations

from channels.db import database_sync_to_async

from ..models import ListenerCheckpoint


@database_sync_to_async
def load(name: str) -> dict | None:
    """The resume token saved under `name` (None: no position known)."""
    row = ListenerCheckpoint.objects.filter(name=name).first()
    return row.resume_token if row else None


@database_sync_to_async
def save(name: str, token: dict | None) -> None:
    """Save the resume token under `name`.

    One statement (an upsert), not a read then a write: the write lock is held for the
    shortest time, and never across a computation or a broadcast.
    """
    ListenerCheckpoint.objects.bulk_create(
        [ListenerCheckpoint(name=name, resume_token=token)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["resume_token", "updated_at"],
    )
