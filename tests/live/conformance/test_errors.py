"""Every error code of docs/websocket-api.md's list, each met by a real client; none closes the socket."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3

import pytest
from bson import ObjectId

from embedded_mongo.faults import FaultSwitch

from .client import Client

pytestmark = pytest.mark.slow

NOW = dt.datetime.now(dt.UTC)


def day(offset_days: int, hours: int = 24) -> dict:
    start = (NOW - dt.timedelta(days=offset_days)).replace(minute=0, second=0, microsecond=0)
    return {"start": start.isoformat(), "end": (start + dt.timedelta(hours=hours)).isoformat()}


async def test_malformed_and_unauthenticated_messages(server, tokens):
    async with Client(server) as client:
        await client.expect("connection_status")
        refused = await client.request({"type": "ping"}, "error")
        assert refused["code"] == "not_authenticated"
        await client.send("{not json")
        assert (await client.expect("error"))["code"] == "invalid_json"
        for message in (
            "[1, 2]",
            '{"type": 5}',
            '{"type": "subscribe_metrics", "metrics": "x"}',
            '{"type": "ping", "requestId": 7}',
        ):
            await client.send(message)
            assert (await client.expect("error"))["code"] == "invalid_message"
        unknown = await client.request({"type": "dance"}, "error")
        assert unknown["code"] == "unknown_event"

        await client.request({"type": "authenticate", "token": tokens["viewer"]}, "authenticated")
        await client.send(
            {
                "type": "subscribe_metrics",
                "requestId": "s1",
                "metrics": ["nope", "revenue", "patientCount"],
            }
        )
        assert (await client.expect("error", requestId="s1"))["code"] == "unknown_metric"
        forbidden = await client.expect("error", requestId="s1")
        assert (forbidden["code"], forbidden["metrics"]) == ("forbidden", ["revenue"])
        kept = await client.expect("subscriptions", requestId="s1")
        assert kept["metrics"] == ["patientCount"]  # the rest of the request applies
        no_act = await client.request({"type": "acknowledge_alert", "alertId": "x"}, "error")
        assert no_act["code"] == "forbidden"
        await asyncio.sleep(1.2)  # eleven messages so far: one more token in the bucket
        assert (await client.request({"type": "ping"}, "pong"))["type"] == "pong"  # still open


async def test_time_ranges_and_unknown_alerts(server, tokens):
    async with Client(server) as client:
        await client.authenticate(tokens["superadmin"])
        cases = {
            "invalid_time_range": {"start": "yesterday", "end": NOW.isoformat()},
            "time_range_order": {"start": NOW.isoformat(), "end": NOW.isoformat()},
            "time_range_too_long": day(40, hours=24 * 32),
            "time_range_in_future": day(-3),
        }
        for code, time_range in cases.items():
            reply = await client.request(
                {"type": "request_historical", "timeRange": time_range}, "error"
            )
            assert reply["code"] == code, (time_range, reply)
        missing = await client.request(
            {"type": "acknowledge_alert", "alertId": str(ObjectId())}, "error"
        )
        assert missing["code"] == "alert_not_found"


async def test_rate_limited_with_retry_after(server, tokens):
    async with Client(server) as client:
        await client.authenticate(tokens["viewer"])
        for number in range(12):
            await client.send({"type": "ping", "requestId": f"p{number}"})
        limited = await client.expect("error", code="rate_limited")
        assert 0 < limited["retryAfter"] <= 1
        assert limited["requestId"] == "p9"  # the eleventh message, authenticate included


async def test_historical_computations_are_limited_per_user(server, tokens):
    """4 ranges a minute on this server; a range already computed is free."""
    async with Client(server) as client:
        await client.authenticate(tokens["viewer"])
        for offset in range(10, 14):
            await client.request(
                {"type": "request_historical", "timeRange": day(offset)}, "historical_data"
            )
        again = await client.request(
            {"type": "request_historical", "timeRange": day(10)}, "historical_data"
        )
        assert again["hourlyStats"]
        limited = await client.request(
            {"type": "request_historical", "timeRange": day(20)}, "error"
        )
        assert limited["code"] == "rate_limited" and limited["retryAfter"] >= 1


async def test_metrics_unavailable_while_the_database_is_away(server, tokens):
    switch = FaultSwitch(server.store_path)
    async with Client(server) as client:
        await client.authenticate(tokens["superadmin"])
        switch.set(True)
        try:
            reply = await client.request(
                {"type": "request_historical", "timeRange": day(25)}, "error", timeout=15
            )
            assert reply["code"] == "metrics_unavailable"
        finally:
            switch.set(False)
        snapshot = await client.request({"type": "request_snapshot"}, "metrics_snapshot")
        assert "patientCount" in snapshot["metrics"]


async def test_server_error_when_the_dashboard_database_fails(server, tokens, hospital):
    """A fault the client cannot cause (a table gone) is `server_error`; the socket stays open."""
    alert_id = ObjectId()
    hospital.workflows.insert_one(
        {
            "_id": alert_id,
            "patientId": "p-err",
            "departmentId": "ER",
            "stage": "triage",
            "priority": "emergency",
            "startedAt": NOW,
            "isActive": True,
        }
    )
    async with Client(server) as client:
        await client.authenticate(tokens["superadmin"])
        with _table_renamed(server, "metrics_alertacknowledgement"):
            failed = await client.request(
                {"type": "acknowledge_alert", "alertId": str(alert_id)}, "error"
            )
        assert failed["code"] == "server_error"
        done = await client.request(
            {"type": "acknowledge_alert", "alertId": str(alert_id)}, "alert_acknowledged"
        )
        assert done["acknowledgedBy"] == "superadmin"


@contextlib.contextmanager
def _table_renamed(server, table: str):
    database = server.workdir / "dashboard.sqlite3"
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
        connection.commit()
        try:
            yield
        finally:
            connection.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
            connection.commit()
