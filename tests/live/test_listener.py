"""The change-stream listener end to end: a write through get_database() reaches a WebSocket client."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from channels.db import database_sync_to_async

from live.models import ListenerCheckpoint
from live.stream.lease import RedisLease
from metrics import store
from metrics.scope import Scope
from metrics.selectors import compute_metric
from runtime import telemetry

from .conftest import authenticated, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


def now():
    return dt.datetime.now(dt.UTC)


# For each watched collection: the metric it feeds, and four writes (insert, update, replace, delete).
def patient(department="ER", status="admitted"):
    return {
        "mrn": "M1",
        "name": "N",
        "departmentId": department,
        "status": status,
        "triageLevel": 3,
        "registeredAt": now(),
        "isActive": True,
    }


CASES = {
    "patients": ("patientCount", patient(), {"$set": {"status": "discharged"}}, patient("CARD")),
    "appointments": (
        "todayAppointments",
        {
            "patientId": "p",
            "departmentId": "ER",
            "staffId": "s",
            "scheduledAt": now(),
            "status": "scheduled",
            "isActive": True,
        },
        {"$set": {"status": "checked_in"}},
        {
            "patientId": "p",
            "departmentId": "CARD",
            "staffId": "s",
            "scheduledAt": now(),
            "status": "completed",
            "isActive": True,
        },
    ),
    "rooms": (
        "roomOccupancy",
        {
            "number": "101",
            "departmentId": "ER",
            "type": "ward",
            "status": "occupied",
            "capacity": 4,
            "occupiedBeds": 2,
            "isActive": True,
        },
        {"$inc": {"occupiedBeds": 1}},
        {
            "number": "101",
            "departmentId": "CARD",
            "type": "icu",
            "status": "available",
            "capacity": 2,
            "occupiedBeds": 0,
            "isActive": True,
        },
    ),
    "bills": (
        "revenue",
        {
            "patientId": "p",
            "departmentId": "ER",
            "amountCents": 12_345,
            "currency": "USD",
            "status": "paid",
            "createdAt": now(),
            "paidAt": now(),
            "isActive": True,
        },
        {"$set": {"amountCents": 20_000}},
        {
            "patientId": "p",
            "departmentId": "ER",
            "amountCents": 500,
            "currency": "USD",
            "status": "pending",
            "createdAt": now(),
            "isActive": True,
        },
    ),
    "workflows": (
        "emergencyAlerts",
        {
            "patientId": "p",
            "departmentId": "ER",
            "stage": "triage",
            "priority": "emergency",
            "startedAt": now(),
            "updatedAt": now(),
            "isActive": True,
        },
        {"$set": {"stage": "treatment"}},
        {
            "patientId": "p",
            "departmentId": "CARD",
            "stage": "diagnostics",
            "priority": "emergency",
            "startedAt": now(),
            "updatedAt": now(),
            "isActive": True,
        },
    ),
    "staff": (
        "staffActivity",
        {
            "name": "S",
            "role": "nurse",
            "departmentId": "ER",
            "status": "on_duty",
            "lastSeenAt": now(),
            "isActive": True,
        },
        {"$set": {"status": "on_break"}},
        {
            "name": "S",
            "role": "doctor",
            "departmentId": "CARD",
            "status": "off_duty",
            "lastSeenAt": now(),
            "isActive": True,
        },
    ),
}


async def expect_recount(communicator, metric: str) -> dict:
    """Wait for an update of `metric` equal to a recount of the source right now."""
    expected = await asyncio.to_thread(compute_metric, metric, Scope.all())
    return await receive_until(
        communicator,
        lambda m: (
            m["type"] == "dashboard_update" and m["metric"] == metric and m["data"] == expected
        ),
        timeout=5,
    )


@pytest.mark.parametrize("collection", sorted(CASES))
async def test_every_operation_on_every_collection_reaches_the_client(
    collection, make_user, listeners
):
    metric, document, update, replacement = CASES[collection]
    db = store.get_database()
    await listeners()
    user = await database_sync_to_async(make_user)("watch", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": [metric]})
    await client.receive_json_from()

    document_id = db[collection].insert_one(dict(document)).inserted_id
    await expect_recount(client, metric)
    db[collection].update_one({"_id": document_id}, update)
    await expect_recount(client, metric)
    db[collection].replace_one({"_id": document_id}, dict(replacement))
    await expect_recount(client, metric)
    db[collection].delete_one({"_id": document_id})
    final = await expect_recount(client, metric)
    assert final["metric"] == metric
    await client.disconnect()


async def test_soft_delete_is_counted_out(make_user, listeners):
    db = store.get_database()
    await listeners()
    user = await database_sync_to_async(make_user)("soft", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    ids = db.patients.insert_many([patient(), patient()]).inserted_ids
    assert (await expect_recount(client, "patientCount"))["data"]["total"] == 2
    db.patients.update_one({"_id": ids[0]}, {"$set": {"isActive": False}})
    assert (await expect_recount(client, "patientCount"))["data"]["total"] == 1
    await client.disconnect()


async def test_restart_resumes_from_the_checkpoint_and_never_goes_backwards(make_user, listeners):
    db = store.get_database()
    first = await listeners(name="restart")
    user = await database_sync_to_async(make_user)("rest", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    db.patients.insert_one(patient())
    await expect_recount(client, "patientCount")
    await listeners.stop(first)
    checkpoint = await database_sync_to_async(ListenerCheckpoint.objects.get)(name="restart")
    assert checkpoint.resume_token is not None

    db.patients.insert_many([patient("CARD") for _ in range(5)])
    db.patients.update_many({"departmentId": "ER"}, {"$set": {"status": "discharged"}})
    resyncs_before = telemetry.resyncs.labels(reason="start")._value.get()
    await listeners(name="restart")
    final = await expect_recount(client, "patientCount")
    assert final["data"]["total"] == 5
    # It resumed from its checkpoint: no full resync was needed.
    assert telemetry.resyncs.labels(reason="start")._value.get() == resyncs_before
    await client.disconnect()


async def test_history_lost_forces_a_full_resync(make_user, listeners, settings):
    settings.EMBEDDED_STORE_HISTORY = 10
    store.reset_client()
    db = store.get_database()
    first = await listeners(name="lost")

    @database_sync_to_async
    def checkpoint() -> dict | None:
        row = ListenerCheckpoint.objects.filter(name="lost").first()
        return row.resume_token if row else None

    async def checkpoint_other_than(previous: dict | None) -> dict:
        async with asyncio.timeout(10):
            while (token := await checkpoint()) in (None, previous):
                await asyncio.sleep(0.05)
        return token

    started = await checkpoint_other_than(None)
    db.patients.insert_one(patient())
    await checkpoint_other_than(started)  # a position after the insert, soon trimmed away
    await listeners.stop(first)
    db.patients.insert_many([patient("NEURO") for _ in range(300)])  # trims the old history
    before = telemetry.resyncs.labels(reason="code_286")._value.get()
    user = await database_sync_to_async(make_user)("lost", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    await listeners(name="lost")
    final = await expect_recount(client, "patientCount")
    assert final["data"]["total"] == 301
    async with asyncio.timeout(10):  # the restarted listener finds its position trimmed away
        while telemetry.resyncs.labels(reason="code_286")._value.get() < before + 1:
            await asyncio.sleep(0.05)
    assert telemetry.resyncs.labels(reason="code_286")._value.get() == before + 1
    await client.disconnect()


async def test_an_emergency_is_broadcast_without_waiting_for_the_batch_window(make_user, listeners):
    db = store.get_database()
    await listeners(batch_interval=30)
    user = await database_sync_to_async(make_user)("urg", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["emergencyAlerts"]})
    await client.receive_json_from()
    await client.receive_json_from()
    db.workflows.insert_one(dict(CASES["workflows"][1]))
    update = await receive_until(client, lambda m: m["type"] == "dashboard_update", timeout=3)
    assert update["data"]["total"] == 1
    await client.disconnect()


async def test_one_listener_leads_and_a_standby_takes_over(
    redis_url, settings, unique_prefix, listeners, make_user
):
    settings.REDIS_URL = redis_url
    key = f"{unique_prefix}:lease"
    leader_lease = RedisLease(redis_url, key=key, ttl=2.0)
    standby_lease = RedisLease(redis_url, key=key, ttl=2.0)
    leader = await listeners(name="failover", lease=leader_lease)
    standby = await listeners(name="failover", lease=standby_lease)
    await asyncio.sleep(0.5)
    assert leader.active and not standby.active
    assert await leader_lease.holder() == leader_lease.owner

    # The leader dies without releasing: its lease must expire before the standby leads.
    async def no_release():
        return None

    leader_lease.release = no_release
    leader_lease.renew = lambda read_at: asyncio.sleep(0, result=False)
    db = store.get_database()
    user = await database_sync_to_async(make_user)("fo", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    await listeners.stop(leader)
    db.patients.insert_one(patient())
    for _ in range(100):
        if standby.active:
            break
        await asyncio.sleep(0.1)
    assert standby.active
    final = await expect_recount(client, "patientCount")
    assert final["data"]["total"] == 1
    await client.disconnect()


async def watching_patients_and_staff(make_user, listeners, name, batch_interval, batches):
    """A listener with that window reporting its batches; a super admin's socket subscribed to
    patientCount and staffActivity, past their current values."""
    await listeners(batch_interval=batch_interval, on_batch=batches.append)
    user = await database_sync_to_async(make_user)(name, "super_admin")
    client = await authenticated(user)
    await client.send_json_to(
        {"type": "subscribe_metrics", "metrics": ["patientCount", "staffActivity"]}
    )
    for _ in range(3):  # subscriptions, then the two current values
        await client.receive_json_from()
    return client


async def reported(batches: list[dict]) -> None:
    """Wait (2 s at most) for the listener to report a batch: it does just after the broadcast."""
    for _ in range(40):
        if batches:
            return
        await asyncio.sleep(0.05)


async def test_critical_metrics_do_not_wait_for_the_window_and_standard_ones_do(
    make_user, listeners
):
    db = store.get_database()
    batches: list[dict] = []
    client = await watching_patients_and_staff(make_user, listeners, "crit", 30, batches)
    db.staff.insert_one(dict(CASES["staff"][1]))
    db.patients.insert_one(patient())
    update = await receive_until(client, lambda m: m["type"] == "dashboard_update", timeout=3)
    assert update["metric"] == "patientCount" and update["data"]["total"] == 1
    await reported(batches)
    assert [batch["kind"] for batch in batches] == ["critical"]
    assert batches[0]["recomputed"] == ["patientCount"]
    await client.disconnect()


async def test_a_critical_flush_takes_standard_metrics_along_after_half_the_window(
    make_user, listeners
):
    db = store.get_database()
    batches: list[dict] = []
    client = await watching_patients_and_staff(make_user, listeners, "ride", 4, batches)
    db.staff.insert_one(dict(CASES["staff"][1]))
    await asyncio.sleep(2.2)  # over half the window: the staff change has waited long enough
    db.patients.insert_one(patient())
    first = await receive_until(client, lambda m: m["type"] == "dashboard_update", timeout=3)
    second = await receive_until(client, lambda m: m["type"] == "dashboard_update", timeout=3)
    assert [first["metric"], second["metric"]] == ["patientCount", "staffActivity"]
    await reported(batches)
    assert [batch["kind"] for batch in batches] == ["critical"]
    assert batches[0]["recomputed"] == ["patientCount", "staffActivity"]
    await client.disconnect()
