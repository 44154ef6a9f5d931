"""The WebSocket protocol (docs/websocket-api.md), through channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from channels.db import database_sync_to_async

from accounts.models import DashboardProfile
from live.sockets import protocol, signin
from live.sockets import websocket as socket_module
from metrics.catalogue import LIVE_METRICS
from metrics.selectors import refresh_live_value

from .conftest import authenticated, communicator_for, connect, receive_until, token_for

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime.now(dt.UTC)


def seed_patients(db, spec):
    """spec: {department: (admitted, discharged)}"""
    docs = []
    for code, (admitted, discharged) in spec.items():
        docs += [
            {
                "departmentId": code,
                "status": "admitted",
                "isActive": True,
                "registeredAt": NOW,
                "mrn": f"M-{code}-{i}",
                "name": "Hidden Name",
            }
            for i in range(admitted)
        ]
        docs += [
            {"departmentId": code, "status": "discharged", "isActive": True, "registeredAt": NOW}
            for _ in range(discharged)
        ]
    db.patients.insert_many(docs)


async def test_connect_sends_connection_status_first():
    communicator = await connect()
    await communicator.disconnect()


@pytest.mark.parametrize(
    "origin, host",
    [
        (b"http://evil.example", b"127.0.0.1"),
        (b"http://[::1].evil.com", b"127.0.0.1"),
        (b"http://127.0.0.1/path", b"127.0.0.1"),
        (b"null", b"127.0.0.1"),
        (b"http://127.0.0.1", b"evil.com"),
    ],
)
async def test_foreign_origin_or_host_is_refused(origin, host):
    communicator = communicator_for(origin, host)
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


async def test_every_message_before_authentication_is_refused():
    communicator = await connect()
    for message in (
        {"type": "ping"},
        {"type": "request_snapshot", "requestId": "r1"},
        {"type": "subscribe_metrics", "metrics": ["patientCount"]},
    ):
        await communicator.send_json_to(message)
        reply = await communicator.receive_json_from()
        assert reply["type"] == "error" and reply["code"] == "not_authenticated"
        assert reply.get("requestId") == message.get("requestId")
    await communicator.disconnect()


async def test_authenticate_replies_with_user_level_departments_and_metrics(make_user):
    user = await database_sync_to_async(make_user)("ada", "admin", ["ER", "CARD"])
    communicator = await connect()
    await communicator.send_json_to(
        {"type": "authenticate", "token": token_for(user), "requestId": "a1"}
    )
    reply = await communicator.receive_json_from()
    assert reply["type"] == "authenticated"
    assert reply["success"] is True
    assert reply["user"] == {"id": user.pk, "username": "ada"}
    assert reply["level"] == "admin"
    assert reply["departments"] == ["CARD", "ER"]
    assert reply["metrics"] == list(LIVE_METRICS)
    assert reply["requestId"] == "a1"
    assert dt.datetime.fromisoformat(reply["expiresAt"].replace("Z", "+00:00")) > NOW
    await communicator.disconnect()


async def test_viewer_may_not_subscribe_to_revenue(make_user):
    user = await database_sync_to_async(make_user)("vic", "viewer")
    communicator = await connect()
    await communicator.send_json_to({"type": "authenticate", "token": token_for(user)})
    reply = await communicator.receive_json_from()
    assert "revenue" not in reply["metrics"]
    await communicator.disconnect()


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
async def test_three_failed_authentications_close_with_4001(token):
    communicator = await connect()
    for _ in range(3):
        await communicator.send_json_to({"type": "authenticate", "token": token})
        reply = await communicator.receive_json_from()
        assert reply == {"type": "auth_error", "error": "invalid_token"}
    assert (await communicator.receive_output())["code"] == 4001


async def test_no_authentication_in_time_closes_with_4001(monkeypatch):
    monkeypatch.setattr(socket_module, "AUTH_TIMEOUT_SECONDS", 0.2)
    communicator = await connect()
    output = await communicator.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4001}


async def test_inactive_and_levelless_users_get_auth_errors(make_user):
    inactive = await database_sync_to_async(make_user)("ina", "admin", ["ER"], active=False)
    levelless = await database_sync_to_async(make_user)("nol", None)
    communicator = await connect()
    await communicator.send_json_to({"type": "authenticate", "token": token_for(inactive)})
    assert (await communicator.receive_json_from())["error"] in ("user_inactive", "invalid_token")
    await communicator.send_json_to({"type": "authenticate", "token": token_for(levelless)})
    assert (await communicator.receive_json_from())["error"] == "no_dashboard_access"
    await communicator.disconnect()


async def test_expired_token_is_refused(make_user):
    user = await database_sync_to_async(make_user)("exp", "super_admin")
    communicator = await connect()
    await communicator.send_json_to(
        {"type": "authenticate", "token": token_for(user, lifetime=dt.timedelta(seconds=-5))}
    )
    assert (await communicator.receive_json_from())["error"] == "token_expired"
    await communicator.disconnect()


async def test_subscribe_sends_subscriptions_then_current_values(make_user, hospital_db):
    seed_patients(hospital_db, {"ER": (3, 1), "CARD": (2, 0), "NEURO": (4, 0)})
    user = await database_sync_to_async(make_user)("sam", "super_admin")
    communicator = await authenticated(user)
    await communicator.send_json_to(
        {
            "type": "subscribe_metrics",
            "metrics": ["patientCount", "roomOccupancy"],
            "requestId": "s1",
        }
    )
    subscriptions = await communicator.receive_json_from()
    assert subscriptions == {
        "type": "subscriptions",
        "requestId": "s1",
        "metrics": ["patientCount", "roomOccupancy"],
    }
    first = await communicator.receive_json_from()
    assert first["type"] == "dashboard_update" and first["metric"] == "patientCount"
    assert first["data"]["total"] == 9
    assert first["data"]["byDepartment"] == {"ER": 3, "CARD": 2, "NEURO": 4}
    assert first["stale"] is False and "updatedAt" in first and "version" in first
    second = await communicator.receive_json_from()
    assert second["metric"] == "roomOccupancy"
    await communicator.disconnect()


async def test_admin_values_cover_only_its_departments(make_user, hospital_db):
    seed_patients(hospital_db, {"ER": (3, 1), "CARD": (2, 0), "NEURO": (4, 0)})
    user = await database_sync_to_async(make_user)("adm", "admin", ["ER"])
    communicator = await authenticated(user)
    await communicator.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await communicator.receive_json_from()
    update = await communicator.receive_json_from()
    assert update["data"]["total"] == 3
    assert update["data"]["byDepartment"] == {"ER": 3}
    assert "M-ER-0" not in protocol.encode(update) and "Hidden Name" not in protocol.encode(update)
    await communicator.disconnect()


async def test_unknown_and_forbidden_names_are_refused_while_the_rest_applies(make_user):
    user = await database_sync_to_async(make_user)("vera", "viewer")
    communicator = await authenticated(user)
    await communicator.send_json_to(
        {
            "type": "subscribe_metrics",
            "metrics": ["revenue", "bogus", "staffActivity"],
            "requestId": "x",
        }
    )
    messages = [await communicator.receive_json_from() for _ in range(4)]
    by_type = {(m["type"], m.get("code")): m for m in messages}
    assert by_type[("error", "unknown_metric")]["metrics"] == ["bogus"]
    assert by_type[("error", "forbidden")]["metrics"] == ["revenue"]
    assert by_type[("subscriptions", None)]["metrics"] == ["staffActivity"]
    assert by_type[("dashboard_update", None)]["metric"] == "staffActivity"
    await communicator.disconnect()


async def test_unsubscribe_replies_with_the_remaining_set(make_user):
    user = await database_sync_to_async(make_user)("una", "super_admin")
    communicator = await authenticated(user)
    await communicator.send_json_to(
        {"type": "subscribe_metrics", "metrics": ["patientCount", "revenue"]}
    )
    for _ in range(3):
        await communicator.receive_json_from()
    await communicator.send_json_to({"type": "unsubscribe_metrics", "metrics": ["revenue"]})
    assert await communicator.receive_json_from() == {
        "type": "subscriptions",
        "metrics": ["patientCount"],
    }
    await communicator.disconnect()


async def test_snapshot_has_every_metric_the_user_may_see(make_user):
    viewer = await database_sync_to_async(make_user)("vivi", "viewer")
    communicator = await authenticated(viewer)
    await communicator.send_json_to({"type": "request_snapshot", "requestId": "snap"})
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "metrics_snapshot" and snapshot["requestId"] == "snap"
    assert set(snapshot["metrics"]) == set(LIVE_METRICS) - {"revenue"}
    for entry in snapshot["metrics"].values():
        assert {"data", "updatedAt", "stale"} <= set(entry)
    await communicator.disconnect()


async def test_historical_data_and_range_errors(make_user):
    viewer = await database_sync_to_async(make_user)("hist", "viewer")
    communicator = await authenticated(viewer)
    end = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    start = end - dt.timedelta(hours=3)
    await communicator.send_json_to(
        {
            "type": "request_historical",
            "requestId": "h",
            "timeRange": {"start": start.isoformat(), "end": end.isoformat()},
        }
    )
    reply = await communicator.receive_json_from()
    assert reply["type"] == "historical_data" and reply["requestId"] == "h"
    assert len(reply["hourlyStats"]) == 3
    assert all("revenueCents" not in row for row in reply["hourlyStats"])
    assert all("revenueCents" not in row for row in reply["departmentMetrics"])
    for time_range, code in [
        ({"start": "yesterday", "end": end.isoformat()}, "invalid_time_range"),
        ({"start": end.isoformat(), "end": start.isoformat()}, "time_range_order"),
        (
            {"start": (end - dt.timedelta(days=40)).isoformat(), "end": end.isoformat()},
            "time_range_too_long",
        ),
    ]:
        await communicator.send_json_to({"type": "request_historical", "timeRange": time_range})
        error = await communicator.receive_json_from()
        assert error["type"] == "error" and error["code"] == code
    await communicator.disconnect()


async def test_ping_pong_and_bad_input_keep_the_connection(make_user):
    user = await database_sync_to_async(make_user)("pip", "viewer")
    communicator = await authenticated(user)
    await communicator.send_to(text_data="{nope")
    assert (await communicator.receive_json_from())["code"] == "invalid_json"
    await communicator.send_to(text_data="[]")
    assert (await communicator.receive_json_from())["code"] == "invalid_message"
    await communicator.send_json_to({"type": "teleport"})
    assert (await communicator.receive_json_from())["code"] == "unknown_event"
    await communicator.send_json_to({"type": "ping", "requestId": "p"})
    pong = await communicator.receive_json_from()
    assert pong["type"] == "pong" and pong["requestId"] == "p" and "serverTime" in pong
    await communicator.disconnect()


async def test_oversized_frame_closes_with_1009(make_user):
    communicator = await connect()
    await communicator.send_to(text_data='{"type":"ping","pad":"' + "x" * 17000 + '"}')
    assert (await communicator.receive_output())["code"] == 1009


async def test_rate_limit_then_close_with_1008():
    communicator = await connect()
    replies = []
    for _ in range(10):
        await communicator.send_json_to({"type": "ping"})
        replies.append(await communicator.receive_json_from())
    assert all(r["code"] == "not_authenticated" for r in replies)
    await communicator.send_json_to({"type": "ping"})
    limited = await communicator.receive_json_from()
    assert limited["code"] == "rate_limited" and 0 < limited["retryAfter"] <= 1
    for _ in range(28):
        await communicator.send_json_to({"type": "ping"})
        assert (await communicator.receive_json_from())["code"] == "rate_limited"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_output())["code"] == 1008


async def test_connections_over_the_limit_close_with_1013(settings, make_user):
    settings.DASHBOARD_MAX_CONNECTIONS = 1
    user = await database_sync_to_async(make_user)("full", "viewer")
    first = await authenticated(user)
    second = communicator_for()
    connected, _ = await second.connect()
    assert connected
    assert (await second.receive_output())["code"] == 1013
    await first.disconnect()


async def test_a_newcomer_evicts_the_oldest_socket_not_signed_in(settings):
    settings.DASHBOARD_MAX_CONNECTIONS = 10  # one slot for sockets not signed in
    settings.DASHBOARD_EVICT_AFTER_SECONDS = 0
    waiting = await connect()
    newcomer = await connect()
    assert (await waiting.receive_output())["code"] == 1013
    await newcomer.send_json_to({"type": "ping"})
    assert (await newcomer.receive_json_from())["code"] == "not_authenticated"
    await newcomer.disconnect()


async def test_token_expiry_pauses_until_a_fresh_authenticate(make_user, monkeypatch):
    monkeypatch.setattr(signin, "EXPIRY_GRACE_SECONDS", 5)
    user = await database_sync_to_async(make_user)("tim", "super_admin")
    communicator = await authenticated(user, lifetime=dt.timedelta(seconds=1))
    expired = await receive_until(communicator, lambda m: m["type"] == "auth_error", timeout=4)
    assert expired["error"] == "token_expired"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["code"] == "not_authenticated"
    await communicator.send_json_to({"type": "authenticate", "token": token_for(user)})
    assert (await communicator.receive_json_from())["type"] == "authenticated"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_token_expiry_grace_then_4001(make_user, monkeypatch):
    monkeypatch.setattr(signin, "EXPIRY_GRACE_SECONDS", 0.3)
    user = await database_sync_to_async(make_user)("tom", "super_admin")
    communicator = await authenticated(user, lifetime=dt.timedelta(seconds=1))
    assert (await communicator.receive_json_from(timeout=4))["error"] == "token_expired"
    assert (await communicator.receive_output(timeout=3))["code"] == 4001


async def test_department_change_is_honoured_on_open_connections(make_user, settings, hospital_db):
    settings.DASHBOARD_REVALIDATE_SECONDS = 0.2
    seed_patients(hospital_db, {"ER": (3, 0), "CARD": (2, 0)})
    user = await database_sync_to_async(make_user)("moe", "admin", ["ER"])
    communicator = await authenticated(user)
    await communicator.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await communicator.receive_json_from()
    assert (await communicator.receive_json_from())["data"]["byDepartment"] == {"ER": 3}

    @database_sync_to_async
    def move_to_card():
        profile = DashboardProfile.objects.get(user=user)
        profile.departments.set(["CARD"])
        profile.save()

    await move_to_card()
    update = await receive_until(communicator, lambda m: m["type"] == "dashboard_update")
    assert update["data"]["byDepartment"] == {"CARD": 2}
    await communicator.disconnect()


async def test_deactivated_user_is_closed_with_4003(make_user, settings):
    settings.DASHBOARD_REVALIDATE_SECONDS = 0.2
    user = await database_sync_to_async(make_user)("gone", "viewer")
    communicator = await authenticated(user)

    @database_sync_to_async
    def deactivate():
        user.is_active = False
        user.save()

    await deactivate()
    assert (await communicator.receive_json_from(timeout=3))["error"] == "user_inactive"
    assert (await communicator.receive_output(timeout=3))["code"] == 4003


async def test_viewer_may_not_acknowledge(make_user):
    viewer = await database_sync_to_async(make_user)("vv", "viewer")
    communicator = await authenticated(viewer)
    await communicator.send_json_to({"type": "acknowledge_alert", "alertId": "w1"})
    reply = await communicator.receive_json_from()
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    await communicator.disconnect()


async def test_acknowledgement_is_shown_to_every_subscriber_and_idempotent(make_user, hospital_db):
    open_er = hospital_db.workflows.insert_one(
        {
            "patientId": "p1",
            "departmentId": "ER",
            "stage": "triage",
            "priority": "emergency",
            "startedAt": NOW,
            "updatedAt": NOW,
            "resolvedAt": None,
            "isActive": True,
        }
    ).inserted_id
    open_neuro = hospital_db.workflows.insert_one(
        {
            "patientId": "p2",
            "departmentId": "NEURO",
            "stage": "triage",
            "priority": "emergency",
            "startedAt": NOW,
            "updatedAt": NOW,
            "resolvedAt": None,
            "isActive": True,
        }
    ).inserted_id
    admin = await database_sync_to_async(make_user)("ack", "admin", ["ER"])
    watcher = await database_sync_to_async(make_user)("see", "super_admin")
    acting = await authenticated(admin)
    watching = await authenticated(watcher)
    await watching.send_json_to({"type": "subscribe_metrics", "metrics": ["emergencyAlerts"]})
    await watching.receive_json_from()
    initial = await watching.receive_json_from()
    assert initial["data"]["total"] == 2

    await acting.send_json_to({"type": "acknowledge_alert", "alertId": str(open_neuro)})
    assert (await acting.receive_json_from())["code"] == "forbidden"
    await acting.send_json_to({"type": "acknowledge_alert", "alertId": "nope"})
    assert (await acting.receive_json_from())["code"] == "alert_not_found"
    await acting.send_json_to(
        {"type": "acknowledge_alert", "alertId": str(open_er), "requestId": "k"}
    )
    acknowledged = await acting.receive_json_from()
    assert acknowledged["type"] == "alert_acknowledged" and acknowledged["requestId"] == "k"
    assert acknowledged["acknowledgedBy"] == "ack"

    update = await receive_until(watching, lambda m: m["type"] == "dashboard_update")
    alert = next(a for a in update["data"]["alerts"] if a["id"] == str(open_er))
    assert alert["acknowledgedBy"] == "ack" and alert["acknowledgedAt"]

    await acting.send_json_to({"type": "acknowledge_alert", "alertId": str(open_er)})
    again = await acting.receive_json_from()
    assert again["acknowledgedAt"] == acknowledged["acknowledgedAt"]
    await acting.disconnect()
    await watching.disconnect()


async def test_heartbeat_repeats_connection_status(settings):
    settings.DASHBOARD_HEARTBEAT_SECONDS = 0.2
    communicator = await connect()
    beat = await communicator.receive_json_from(timeout=2)
    assert beat["type"] == "connection_status" and beat["status"] == "connected"
    assert beat["instance"]
    await communicator.disconnect()


async def test_a_value_never_goes_backwards(make_user, hospital_db, fresh_hub):
    """A broadcast newer than the value read at subscribe time wins; an older one is dropped."""
    user = await database_sync_to_async(make_user)("ord", "super_admin")
    communicator = await authenticated(user)
    await communicator.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await communicator.receive_json_from()
    current = await communicator.receive_json_from()
    hospital_db.patients.insert_one(
        {"departmentId": "ER", "status": "admitted", "isActive": True, "registeredAt": NOW}
    )
    base, _ = await asyncio.to_thread(refresh_live_value, "patientCount")
    older = dataclasses.replace(base, version=current["version"] - 1)
    fresh_hub.dispatch([older])
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_history_while_mongodb_is_down_and_nothing_is_known_is_metrics_unavailable(
    make_user, hospital_db
):
    from runtime.breakers import mongodb_breaker

    user = await database_sync_to_async(make_user)("dark", "super_admin")
    communicator = await authenticated(user)
    hospital_db.client.set_unreachable(True)
    try:
        await communicator.send_json_to(
            {
                "type": "request_historical",
                "requestId": "h1",
                "timeRange": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T06:00:00Z"},
            }
        )
        reply = await communicator.receive_json_from(timeout=10)
    finally:
        hospital_db.client.set_unreachable(False)
        mongodb_breaker.close()
    assert reply["type"] == "error" and reply["code"] == "metrics_unavailable"
    assert reply["requestId"] == "h1" and reply["metrics"]
    await communicator.disconnect()
