"""Every client event and its reply, as a real client sees them on daphne and on uvicorn."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from bson import ObjectId

from .client import Client


def newer(update: dict, held: dict) -> bool:
    """What a socket may send after `held`: a higher version, or the same one (the same database
    state computed later) with other contents."""
    if update["version"] == held["version"]:
        return update["data"] != held["data"]
    return update["version"] > held["version"]


pytestmark = pytest.mark.slow

LAST_SIX_HOURS = {
    "start": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)).isoformat(),
    "end": dt.datetime.now(dt.UTC).isoformat(),
}


async def test_authenticate_subscribe_unsubscribe_snapshot_history_ping(server, tokens):
    async with Client(server) as client:
        authenticated = await client.authenticate(tokens["admin"])
        assert authenticated["level"] == "admin"
        assert authenticated["departments"] == ["CARD", "ER"]
        assert "revenue" in authenticated["metrics"]

        subscribed = await client.request(
            {"type": "subscribe_metrics", "metrics": ["roomOccupancy", "patientCount"]},
            "subscriptions",
        )
        assert subscribed["metrics"] == ["patientCount", "roomOccupancy"]
        updates = [await client.expect("dashboard_update") for _ in range(2)]
        assert {update["metric"] for update in updates} == {"patientCount", "roomOccupancy"}
        assert all(set(u["data"]["byDepartment"]) <= {"ER", "CARD"} for u in updates)

        left = await client.request(
            {"type": "unsubscribe_metrics", "metrics": ["roomOccupancy"]}, "subscriptions"
        )
        assert left["metrics"] == ["patientCount"]

        snapshot = await client.request({"type": "request_snapshot"}, "metrics_snapshot")
        assert set(snapshot["metrics"]) == set(authenticated["metrics"])

        history = await client.request(
            {"type": "request_historical", "timeRange": LAST_SIX_HOURS}, "historical_data"
        )
        assert len(history["hourlyStats"]) in (6, 7)  # widened to whole hours
        assert {row["departmentId"] for row in history["departmentMetrics"]} <= {"ER", "CARD"}

        pong = await client.request({"type": "ping"}, "pong")
        moment = dt.datetime.fromisoformat(pong["serverTime"])
        assert abs((dt.datetime.now(dt.UTC) - moment).total_seconds()) < 30


async def test_acknowledgement_is_stored_under_the_canonical_id_and_the_first_stands(
    server, tokens, hospital
):
    alert_id = ObjectId()
    hospital.workflows.insert_one(
        {
            "_id": alert_id,
            "patientId": "p-ack",
            "departmentId": "ER",
            "stage": "triage",
            "priority": "emergency",
            "startedAt": dt.datetime.now(dt.UTC),
            "isActive": True,
        }
    )
    async with Client(server) as admin, Client(server) as chief:
        await admin.authenticate(tokens["admin"])
        await chief.authenticate(tokens["superadmin"])
        await chief.request(
            {"type": "subscribe_metrics", "metrics": ["emergencyAlerts"]}, "subscriptions"
        )

        first = await admin.request(
            {"type": "acknowledge_alert", "alertId": str(alert_id).upper()}, "alert_acknowledged"
        )
        assert first["alertId"] == str(alert_id)
        assert first["acknowledgedBy"] == "admin"
        second = await chief.request(
            {"type": "acknowledge_alert", "alertId": str(alert_id)}, "alert_acknowledged"
        )
        assert (second["acknowledgedBy"], second["acknowledgedAt"]) == (
            "admin",
            first["acknowledgedAt"],
        )

        def marked(update: dict) -> bool:
            listed = {a["id"]: a for a in update["data"]["alerts"]}
            return listed.get(str(alert_id), {}).get("acknowledgedBy") == "admin"

        async with asyncio.timeout(10):
            while not marked(await chief.expect("dashboard_update", metric="emergencyAlerts")):
                pass


async def test_heartbeat_and_websocket_ping(server, tokens):
    async with Client(server) as client:
        first = await client.expect("connection_status")
        assert first["status"] == "connected" and first["instance"]
        beat = await client.expect("connection_status", timeout=5)  # every 2 s on this server
        assert beat["status"] == "connected"
        latency = await asyncio.wait_for(await client.ws.ping(), 5)  # a WebSocket ping
        assert latency >= 0


async def test_an_update_reaches_a_subscriber_after_a_change(server, tokens, hospital):
    async with Client(server) as client:
        await client.authenticate(tokens["superadmin"])
        await client.request(
            {"type": "subscribe_metrics", "metrics": ["patientCount"]}, "subscriptions"
        )
        current = await client.expect("dashboard_update", metric="patientCount")
        hospital.patients.insert_one(
            {
                "mrn": "C-1",
                "name": "Conformance",
                "departmentId": "ER",
                "status": "admitted",
                "registeredAt": dt.datetime.now(dt.UTC),
                "isActive": True,
            }
        )
        last = current
        async with asyncio.timeout(10):
            while last["data"]["total"] != current["data"]["total"] + 1:
                update = await client.expect("dashboard_update", metric="patientCount")
                assert newer(update, last)  # never backwards
                last = update


async def test_a_client_that_asks_for_batches_gets_one_frame_per_flush(server, tokens, hospital):
    async with Client(server) as client:
        await client.authenticate(tokens["superadmin"], batch=True)
        await client.send(
            {
                "type": "subscribe_metrics",
                "requestId": "b1",
                "metrics": ["patientCount", "staffActivity"],
            }
        )
        await client.expect("subscriptions", requestId="b1")
        current = await client.expect("dashboard_updates", requestId="b1")
        assert [u["metric"] for u in current["updates"]] == ["patientCount", "staffActivity"]
        versions = {u["metric"]: u["version"] for u in current["updates"]}

        now = dt.datetime.now(dt.UTC)
        hospital.patients.insert_one(
            {
                "mrn": "B-1",
                "name": "Batch",
                "departmentId": "CARD",
                "status": "admitted",
                "registeredAt": now,
                "isActive": True,
            }
        )
        hospital.staff.insert_one(
            {
                "name": "Batch",
                "role": "nurse",
                "departmentId": "CARD",
                "status": "on_duty",
                "lastSeenAt": now,
                "isActive": True,
            }
        )
        seen: set[str] = set()
        async with asyncio.timeout(10):
            while seen != {"patientCount", "staffActivity"}:
                frame = await client.expect("dashboard_updates")
                for item in frame["updates"]:
                    assert item["version"] >= versions[item["metric"]]  # never backwards
                    versions[item["metric"]] = item["version"]
                    seen.add(item["metric"])
        assert not [m for m in client.skipped if m["type"] == "dashboard_update"]
