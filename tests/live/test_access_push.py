"""An access change announced on the channel layer (accounts/changes.py) reaches open sockets at
once, without waiting for the periodic re-read (DASHBOARD_REVALIDATE_SECONDS)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from accounts import displays
from accounts.changes import ACCESS_GROUP, access_changed_message, announce_access_change
from accounts.models import DashboardProfile, Department, DisplayDevice, Level
from live.sockets import protocol
from live.sockets.signin import MAX_AUTH_FAILURES
from metrics.catalogue import LIVE_METRICS
from tests.live.conftest import authenticated, connect, receive_until, token_for

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


# --- access_changed: the new access, before any value of the new scope ----------------------------
NOW = dt.datetime.now(dt.UTC)


def set_access(user, level: str, codes: list[str]) -> None:
    profile = DashboardProfile.objects.get(user=user)
    profile.level = level
    profile.save()
    profile.departments.set(Department.objects.filter(code__in=codes))
    announce_access_change([user.pk])


async def test_a_widened_scope_sends_access_changed_before_its_values(make_user, hospital_db):
    hospital_db.patients.insert_many(
        [
            {"departmentId": code, "status": "admitted", "isActive": True, "registeredAt": NOW}
            for code in ("ER", "CARD", "CARD")
        ]
    )
    user = await database_sync_to_async(make_user)("widened", Level.ADMIN, ["ER"])
    communicator = await authenticated(user)
    await communicator.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    first = await receive_until(communicator, lambda m: m["type"] == "dashboard_update")
    assert set(first["data"]["byDepartment"]) == {"ER"}

    await database_sync_to_async(set_access)(user, Level.ADMIN, ["ER", "CARD"])
    seen = []
    while not seen or seen[-1]["type"] != "dashboard_update" or seen[-1] is first:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] != "connection_status":
            seen.append(message)
    kinds = [m["type"] for m in seen]
    assert kinds[0] == "access_changed", kinds
    assert seen[0] == {
        "type": "access_changed",
        "kind": "user",
        "level": "admin",
        "departments": ["CARD", "ER"],
        "metrics": list(LIVE_METRICS),
    }
    assert kinds.count("access_changed") == 1
    assert seen[-1]["data"]["byDepartment"] == {"CARD": 2, "ER": 1}
    assert seen[-1]["data"]["total"] == 3
    await communicator.disconnect()


async def test_a_demoted_admin_gets_access_changed_then_loses_revenue(make_user, hospital_db):
    user = await database_sync_to_async(make_user)("demoted", Level.ADMIN, ["ER"])
    communicator = await authenticated(user)
    await communicator.send_json_to(
        {"type": "subscribe_metrics", "metrics": ["revenue", "patientCount"]}
    )
    await receive_until(communicator, lambda m: m["type"] == "subscriptions")

    await database_sync_to_async(set_access)(user, Level.VIEWER, ["ER"])
    changed = await receive_until(communicator, lambda m: m["type"] == "access_changed")
    assert changed["level"] == "viewer" and "revenue" not in changed["metrics"]
    subscriptions = await receive_until(communicator, lambda m: m["type"] == "subscriptions")
    assert subscriptions["metrics"] == ["patientCount"]
    # Nothing of revenue after it: a value dispatched now goes nowhere.
    await communicator.send_json_to({"type": "ping", "requestId": "after"})
    pong = await receive_until(communicator, lambda m: m.get("requestId") == "after")
    assert pong["type"] == "pong"
    await communicator.disconnect()


async def test_an_unchanged_access_sends_nothing(make_user):
    user = await database_sync_to_async(make_user)("same", Level.VIEWER, ["ER"])
    communicator = await authenticated(user)
    await database_sync_to_async(announce_access_change)([user.pk])
    await asyncio.sleep(0.3)
    await communicator.send_json_to({"type": "ping", "requestId": "p"})
    reply = await receive_until(communicator, lambda m: m["type"] != "connection_status")
    assert reply["type"] == "pong"
    await communicator.disconnect()


# --- authenticate again: the same user only ------------------------------------------------------
async def test_another_users_token_is_refused_and_the_socket_stays_as_it_was(make_user):
    user = await database_sync_to_async(make_user)("owner", Level.ADMIN, ["ER"])
    other = await database_sync_to_async(make_user)("intruder", Level.VIEWER, ["CARD"])
    communicator = await authenticated(user)
    await communicator.send_json_to({"type": "subscribe_metrics", "metrics": ["revenue"]})
    await receive_until(communicator, lambda m: m["type"] == "subscriptions")

    for _ in range(MAX_AUTH_FAILURES + 1):  # refusals of this kind never close the socket
        await communicator.send_json_to(
            {"type": "authenticate", "token": token_for(other), "requestId": "swap"}
        )
        refused = await receive_until(communicator, lambda m: m.get("requestId") == "swap")
        assert refused == {"type": "auth_error", "error": "different_user", "requestId": "swap"}

    await communicator.send_json_to(
        {"type": "unsubscribe_metrics", "metrics": ["patientCount"], "requestId": "s"}
    )
    still = await receive_until(communicator, lambda m: m.get("requestId") == "s")
    assert still == {"type": "subscriptions", "metrics": ["revenue"], "requestId": "s"}
    # Its own fresh token is still welcome.
    await communicator.send_json_to(
        {"type": "authenticate", "token": token_for(user), "requestId": "own"}
    )
    again = await receive_until(communicator, lambda m: m.get("requestId") == "own")
    assert again["type"] == "authenticated" and again["user"]["username"] == "owner"
    await communicator.disconnect()


def paired_display_token(name: str, code: str) -> str:
    """A display of department `code`, paired, and an access token from its credential."""
    device = DisplayDevice(name=name, user=displays.create_display_user(name))
    device.save()
    device.departments.set(Department.objects.filter(code=code))
    pairing = displays.start_pairing()
    displays.confirm_pairing(device, pairing.code)
    state = displays.pairing_status(pairing.pairing_id)
    assert state is not None
    token, _, _ = displays.exchange(device.pk, state["secret"])
    return token


async def test_a_display_and_a_person_are_never_the_same_user(make_user):
    """A display is itself only: its internal user is not the person's, nor another display's."""
    person = await database_sync_to_async(make_user)("person", Level.SUPER_ADMIN)
    wall = await database_sync_to_async(paired_display_token)("Corridor", "ER")
    other_wall = await database_sync_to_async(paired_display_token)("Lobby", "ER")

    on_person = await authenticated(person)
    await on_person.send_json_to({"type": "authenticate", "token": wall, "requestId": "w"})
    refused = await receive_until(on_person, lambda m: m.get("requestId") == "w")
    assert refused["error"] == "different_user"

    on_wall = await connect()
    await on_wall.send_json_to({"type": "authenticate", "token": wall})
    signed_in = await receive_until(on_wall, lambda m: m["type"] == "authenticated")
    assert signed_in["kind"] == "display"
    for token in (token_for(person), other_wall):
        await on_wall.send_json_to({"type": "authenticate", "token": token, "requestId": "x"})
        refused = await receive_until(on_wall, lambda m: m.get("requestId") == "x")
        assert refused["error"] == "different_user"
    await on_wall.send_json_to({"type": "authenticate", "token": wall, "requestId": "own"})
    again = await receive_until(on_wall, lambda m: m.get("requestId") == "own")
    assert again["type"] == "authenticated" and again["user"] == signed_in["user"]
    await on_person.disconnect()
    await on_wall.disconnect()
