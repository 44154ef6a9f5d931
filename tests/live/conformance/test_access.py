"""A user's access changing on an open socket, and signing in again on it, as a real client sees
it on daphne and on uvicorn (docs/websocket-api.md, "Access changes" and "Signing in again").

Access is changed the way an operator changes it: through the user's page in Django admin, over
HTTP (tests/admin_http.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest

from tests.admin_http import AdminSession, save_user_access
from tests.servers import DEMO_PASSWORDS, manage

from .client import RECEIVED, Client
from .conftest import short_lived

pytestmark = pytest.mark.slow

_names = itertools.count()


def dashboard_user(server, level: str, departments: str) -> tuple[str, str]:
    """A user of this test's own (the demo users are shared by the suite): (name, token)."""
    name = f"access{next(_names)}-{server.env['DASHBOARD_SERVER']}"
    password = f"{name}-password-1"
    manage(
        "create_dashboard_user",
        name,
        "--level",
        level,
        "--departments",
        departments,
        "--password",
        password,
        env=server.env,
    )
    return name, server.login(name, password)


def save_in_admin(server, user: int, **changes) -> None:
    """The user's page in Django admin saved by a super admin, with `changes`."""
    admin = AdminSession(server.url)
    admin.login("superadmin", DEMO_PASSWORDS["superadmin"])
    save_user_access(admin, user, **changes)


def admit(hospital, department: str, mrn: str) -> None:
    hospital.patients.insert_one(
        {
            "mrn": mrn,
            "name": "Access",
            "departmentId": department,
            "status": "admitted",
            "registeredAt": dt.datetime.now(dt.UTC),
            "isActive": True,
        }
    )


def active_patients(hospital, departments: list[str] | None = None) -> int:
    query: dict = {"isActive": True, "status": {"$ne": "discharged"}}
    if departments is not None:
        query["departmentId"] = {"$in": departments}
    return hospital.patients.count_documents(query)


async def test_a_department_added_in_admin_arrives_as_access_changed_before_its_values(
    server, hospital
):
    name, token = await asyncio.to_thread(dashboard_user, server, "admin", "ER")
    async with Client(server) as client:
        signed_in = await client.authenticate(token)
        assert signed_in["departments"] == ["ER"]
        await client.request(
            {"type": "subscribe_metrics", "metrics": ["patientCount"]}, "subscriptions"
        )
        first = await client.expect("dashboard_update", metric="patientCount")
        assert set(first["data"]["byDepartment"]) <= {"ER"}

        await asyncio.to_thread(
            save_in_admin, server, signed_in["user"]["id"], departments=["CARD", "ER"]
        )
        # Read in order: no value over CARD before the frame that says CARD is in scope.
        before = []
        async with asyncio.timeout(10):
            while (message := await client.receive())["type"] != "access_changed":
                before.append(message)
        assert message == {
            "type": "access_changed",
            "kind": "user",
            "level": "admin",
            "departments": ["CARD", "ER"],
            "metrics": signed_in["metrics"],
        }
        for update in before:
            if update["type"] == "dashboard_update":
                assert "CARD" not in update["data"]["byDepartment"]
        value = await client.expect("dashboard_update", metric="patientCount")
        assert set(value["data"]["byDepartment"]) == {"CARD", "ER"}
        assert value["data"]["total"] == sum(value["data"]["byDepartment"].values())

        # Then values of the new scope follow the data: a CARD admission counts.
        admit(hospital, "CARD", f"A-{name}")
        async with asyncio.timeout(10):
            while value["data"]["total"] != await asyncio.to_thread(
                active_patients, hospital, ["CARD", "ER"]
            ):
                value = await client.expect("dashboard_update", metric="patientCount")
        assert "access_changed" not in [m["type"] for m in client.skipped]


async def test_a_level_change_travels_both_ways_and_revenue_follows(server):
    name, token = await asyncio.to_thread(dashboard_user, server, "viewer", "ER")
    async with Client(server) as client:
        signed_in = await client.authenticate(token)
        assert "revenue" not in signed_in["metrics"]
        user_id = signed_in["user"]["id"]

        await asyncio.to_thread(save_in_admin, server, user_id, level="admin")
        promoted = await client.expect("access_changed")
        assert promoted["level"] == "admin" and "revenue" in promoted["metrics"]
        await client.request({"type": "subscribe_metrics", "metrics": ["revenue"]}, "subscriptions")
        await client.expect("dashboard_update", metric="revenue")

        await asyncio.to_thread(save_in_admin, server, user_id, level="viewer")
        demoted = await client.expect("access_changed")
        assert demoted["level"] == "viewer" and "revenue" not in demoted["metrics"]
        dropped = await client.expect("subscriptions")
        assert "revenue" not in dropped["metrics"]
        # Revenue is gone for a viewer: refused when asked for, never sent again.
        refused = await client.request(
            {"type": "subscribe_metrics", "metrics": ["revenue"]}, "error"
        )
        assert refused["code"] == "forbidden"
        await client.request({"type": "ping"}, "pong")
        after = RECEIVED[next(i for i, m in enumerate(RECEIVED) if m is demoted) + 1 :]
        assert all(m.get("metric") != "revenue" for m in after), after


async def test_a_user_deactivated_in_admin_is_closed_with_4003(server):
    _, token = await asyncio.to_thread(dashboard_user, server, "viewer", "ER")
    async with Client(server) as client:
        signed_in = await client.authenticate(token)
        await asyncio.to_thread(save_in_admin, server, signed_in["user"]["id"], active=False)
        revoked = await client.expect("auth_error")
        assert revoked["error"] == "user_inactive"
        assert await client.close_code() == 4003


async def test_a_fresh_token_of_the_same_user_keeps_every_subscription_and_update(
    server, tokens, hospital
):
    metrics = ["patientCount", "erWaiting"]
    async with Client(server) as client:
        await client.authenticate(tokens["superadmin"])
        await client.request({"type": "subscribe_metrics", "metrics": metrics}, "subscriptions")
        latest = {}
        for metric in metrics:
            latest[metric] = (await client.expect("dashboard_update", metric=metric))["data"]

        # Changes written while the socket authenticates again, five times over.
        for round_ in range(5):
            admit(hospital, "ER", f"R-{round_}-a")
            reply = await client.request(
                {"type": "authenticate", "token": short_lived(tokens["superadmin"], 600 + round_)},
                "authenticated",
            )
            assert reply["user"]["username"] == "superadmin"
            admit(hospital, "CARD", f"R-{round_}-b")
        subscriptions = await client.request(
            {"type": "subscribe_metrics", "metrics": metrics}, "subscriptions"
        )
        assert subscriptions["metrics"] == metrics

        # Every change is reflected: the count reaches what the database holds.
        expected = await asyncio.to_thread(active_patients, hospital)
        async with asyncio.timeout(10):
            while latest["patientCount"]["total"] != expected:
                update = await client.expect("dashboard_update", metric="patientCount")
                latest["patientCount"] = update["data"]
        assert not [m for m in client.skipped if m["type"] in ("auth_error", "error")]


async def test_a_token_renewed_after_it_expired_brings_what_changed_meanwhile(
    server, tokens, hospital
):
    async with Client(server) as client:
        await client.authenticate(short_lived(tokens["superadmin"], 2))
        await client.request(
            {"type": "subscribe_metrics", "metrics": ["patientCount"]}, "subscriptions"
        )
        await client.expect("dashboard_update", metric="patientCount")
        expired = await client.expect("auth_error", timeout=10)
        assert expired["error"] == "token_expired"

        admit(hospital, "NEURO", "E-1")  # while the stream is paused
        expected = await asyncio.to_thread(active_patients, hospital)
        await client.request(
            {"type": "authenticate", "token": short_lived(tokens["superadmin"], 600)},
            "authenticated",
        )
        async with asyncio.timeout(10):
            while (await client.expect("dashboard_update", metric="patientCount"))["data"][
                "total"
            ] != expected:
                pass


async def test_another_users_token_is_refused_and_the_socket_is_unchanged(server, tokens, hospital):
    async with Client(server) as client:
        signed_in = await client.authenticate(tokens["superadmin"])
        await client.request(
            {"type": "subscribe_metrics", "metrics": ["patientCount", "revenue"]}, "subscriptions"
        )
        current = await client.expect("dashboard_update", metric="patientCount")

        refused = await client.request(
            {"type": "authenticate", "token": tokens["viewer"]}, "auth_error"
        )
        assert refused["error"] == "different_user"

        # Still the super admin, with its subscriptions (revenue included) and its stream.
        again = await client.request(
            {"type": "subscribe_metrics", "metrics": ["revenue"]}, "subscriptions"
        )
        assert again["metrics"] == ["patientCount", "revenue"]
        admit(hospital, "ONC", "D-1")
        expected = await asyncio.to_thread(active_patients, hospital)
        async with asyncio.timeout(10):
            while current["data"]["total"] != expected:
                current = await client.expect("dashboard_update", metric="patientCount")
        mine = await client.request(
            {"type": "authenticate", "token": short_lived(tokens["superadmin"], 600)},
            "authenticated",
        )
        assert mine["user"] == signed_in["user"]
