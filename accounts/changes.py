"""Telling open sockets at once that a principal's access changed (a display revoked, say).

Open sockets re-read their access every DASHBOARD_REVALIDATE_SECONDS anyway
(docs/accounts.md); a message on this channel-layer group makes every server
process re-read it for that principal's sockets now. Each process's hub
(live/sockets/hub.py) is a member. When the channel layer is away the
message is lost and the periodic re-read still applies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger("dashboard.accounts")

ACCESS_GROUP = "dashboard.access"
ACCESS_CHANGED_TYPE = "access.changed"


def access_changed_message(user_ids: Iterable[int]) -> dict:
    return {"type": ACCESS_CHANGED_TYPE, "users": sorted({int(i) for i in user_ids})}


def users_of(message: dict) -> frozenset[int]:
    """The user ids an access-changed message names (nothing for anything else)."""
    if message.get("type") != ACCESS_CHANGED_TYPE:
        return frozenset()
    users = message.get("users")
    if not isinstance(users, list):
        return frozenset()
    return frozenset(u for u in users if isinstance(u, int) and not isinstance(u, bool))


def announce_access_change(user_ids: Iterable[int]) -> None:
    """Ask every server process to re-read these users' access now (synchronous; never raises).

    Sent once the current transaction commits (at once outside one): a socket re-reading
    earlier would still see the old access.
    """
    message = access_changed_message(user_ids)
    if message["users"]:
        transaction.on_commit(lambda: _send(message))


def _send(message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(ACCESS_GROUP, message)
    except Exception as exc:
        logger.warning("could not announce an access change: %s: %s", type(exc).__name__, exc)
        return
    logger.info("access change announced for users %s", message["users"])
