"""An access change announced on the channel layer (accounts/changes.py) reaches open sockets at
once, without waiting for the periodic re-read (DASHBOARD_REVALIDATE_SECONDS)."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts.changes import ACCESS_GROUP, access_changed_message, announce_access_change
from accounts.models import DashboardProfile, Level
from live.sockets import protocol
from tests.live.conftest import authenticated, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def slow_periodic_reread(settings):
    settings.DASHBOARD_REVALIDATE_SECONDS = 600


async def test_a_deactivated_user_is_closed_with_4003_when_announced(make_user):
    user = await database_sync_to_async(make_user)("nurse", Level.VIEWER, ["ER"])
    communicator = await authenticated(user)

    def deactivate_and_announce():
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        announce_access_change([user.pk])

    await database_sync_to_async(deactivate_and_announce)()
    error = await receive_until(communicator, lambda m: m["type"] == "auth_error", timeout=3)
    assert error["error"] == "user_inactive"
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": protocol.CLOSE_ACCESS_REVOKED}


async def test_a_narrowed_scope_is_applied_when_announced(make_user):
    user = await database_sync_to_async(make_user)("lead", Level.ADMIN, ["ER", "CARD"])
    communicator = await authenticated(user)
    await communicator.send_json_to({"type": "subscribe_metrics", "metrics": ["revenue"]})
    await receive_until(communicator, lambda m: m["type"] == "subscriptions")

    def demote():
        DashboardProfile.objects.filter(user=user).update(level=Level.VIEWER)
        announce_access_change([user.pk])

    await database_sync_to_async(demote)()
    # A viewer sees no revenue: the subscription is dropped at once.
    message = await receive_until(
        communicator, lambda m: m["type"] == "subscriptions" and "revenue" not in m["metrics"]
    )
    assert message["metrics"] == []
    await communicator.disconnect()


async def test_other_users_sockets_are_left_alone(make_user):
    user = await database_sync_to_async(make_user)("one", Level.VIEWER, ["ER"])
    other = await database_sync_to_async(make_user)("two", Level.VIEWER, ["ER"])
    communicator = await authenticated(other)
    await database_sync_to_async(
        lambda: type(user).objects.filter(pk=user.pk).update(is_active=False)
    )()
    await get_channel_layer().group_send(ACCESS_GROUP, access_changed_message([user.pk]))
    await asyncio.sleep(0.5)
    await communicator.send_json_to({"type": "ping", "requestId": "p"})
    pong = await receive_until(communicator, lambda m: m.get("requestId") == "p")
    assert pong["type"] == "pong"
    await communicator.disconnect()
