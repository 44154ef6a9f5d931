"""The metrics REST API: catalogue, snapshot and historical, as each level sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.scope import Scope
from metrics.selectors import compute_metric

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital(hospital_db):
    """Patients, bills and appointments in three departments, some of them today."""
    now = timezone.now()
    hospital_db.departments.insert_many(
        [
            {"_id": code, "name": name, "isActive": True}
            for code, name in [("ER", "Emergency"), ("CARD", "Cardiology"), ("NEURO", "Neurology")]
        ]
    )
    for code, n in [("ER", 3), ("CARD", 2), ("NEURO", 1)]:
        hospital_db.patients.insert_many(
            [
                {"isActive": True, "status": "admitted", "departmentId": code, "registeredAt": now}
                for _ in range(n)
            ]
        )
        hospital_db.bills.insert_many(
            [
                {
                    "isActive": True,
                    "status": "paid",
                    "departmentId": code,
                    "amountCents": 1000 * n,
                    "currency": "USD",
                    "paidAt": now,
                },
                {
                    "isActive": True,
                    "status": "pending",
                    "departmentId": code,
                    "amountCents": 7,
                    "currency": "USD",
                },
            ]
        )
        hospital_db.workflows.insert_one(
            {
                "isActive": True,
                "priority": "emergency",
                "departmentId": code,
                "stage": "triage",
                "startedAt": now - dt.timedelta(minutes=n),
            }
        )
    hospital_db.patients.insert_one({"isActive": True, "status": "admitted", "registeredAt": now})
    return hospital_db


def range_params(hours_back: int = 3) -> dict:
    now = timezone.now()
    return {
        "start": (now - dt.timedelta(hours=hours_back)).isoformat(),
        "end": (now + dt.timedelta(minutes=30)).isoformat(),
    }


def test_the_catalogue_says_what_each_level_may_see(make_user, client_for):
    admin = client_for(make_user("root", "super_admin")).get("/api/metrics/")
    viewer = client_for(make_user("watcher", "viewer")).get("/api/metrics/")
    assert admin.status_code == viewer.status_code == 200
    entries = {entry["name"]: entry for entry in admin.json()["metrics"]}
    assert entries["patientCount"] == {
        "name": "patientCount",
        "tier": "critical",
        "ttlSeconds": 5,
        "live": True,
        "allowed": True,
    }
    assert entries["revenue"]["ttlSeconds"] == 30 and entries["hourlyStats"]["ttlSeconds"] == 300
    assert entries["hourlyStats"]["live"] is False
    allowed = {entry["name"]: entry["allowed"] for entry in viewer.json()["metrics"]}
    assert allowed == {
        "patientCount": True,
        "emergencyAlerts": True,
        "roomOccupancy": True,
        "todayAppointments": True,
        "revenue": False,
        "staffActivity": True,
        "dischargesToday": True,
        "erWaiting": True,
        "hourlyStats": True,
        "departmentMetrics": True,
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/metrics/",
        "/api/metrics/snapshot/",
        "/api/metrics/historical/",
        "/api/instances/",
        "/api/instances/pick/",
    ],
)
def test_anonymous_callers_get_401_everywhere(path):
    anonymous = APIClient().get(path)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"


def test_without_redis_there_is_no_instance_to_pick(make_user, client_for):
    client = client_for(make_user("picky", "viewer"))
    missing = client.get("/api/instances/pick/")
    assert missing.status_code == 404 and missing.json()["code"] == "no_instance"
    wrong = client.get("/api/instances/pick/", {"strategy": "random"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_strategy"


def test_only_super_admins_see_the_picked_instance_s_id(make_user, client_for, monkeypatch):
    record = {"id": "web7.internal:4242", "address": "dashboard.example.org:8443"}
    monkeypatch.setattr(
        "live.sockets.api.pick_instance", lambda strategy: dict(record, connections=3)
    )
    for level in ("viewer", "admin"):
        answer = client_for(make_user(f"pick-{level}", level)).get("/api/instances/pick/")
        assert answer.status_code == 200 and answer.json() == {"address": record["address"]}
    chief = client_for(make_user("pick-chief", "super_admin")).get("/api/instances/pick/")
    assert chief.status_code == 200 and chief.json() == record


def test_historical_computations_are_throttled_per_user(hospital, make_user, client_for, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "historical": "2/min",
        },
    }
    from rest_framework.settings import api_settings

    api_settings.reload()
    try:
        client = client_for(make_user("curious", "viewer"))
        for hours in (3, 4):
            assert client.get("/api/metrics/historical/", range_params(hours)).status_code == 200
        cached = client.get("/api/metrics/historical/", range_params(3))
        assert cached.status_code == 200  # already computed: free
        refused = client.get("/api/metrics/historical/", range_params(5))
        assert refused.status_code == 429
        assert refused.json()["code"] == "throttled" and refused.json()["retryAfter"] >= 1
        assert int(refused["Retry-After"]) >= 1
        other = client_for(make_user("other", "viewer"))
        assert other.get("/api/metrics/historical/", range_params(6)).status_code == 200
    finally:
        api_settings.reload()


def test_callers_without_a_level_are_refused_with_a_code(make_user, client_for):
    no_level = client_for(make_user("nobody", None)).get("/api/metrics/snapshot/")
    assert no_level.status_code == 403 and no_level.json()["code"] == "no_dashboard_access"


def test_an_admin_sees_numbers_over_its_departments_alone(hospital, make_user, client_for):
    client = client_for(make_user("cardio", "admin", ["CARD", "NEURO"]))
    metrics = client.get("/api/metrics/snapshot/").json()["metrics"]
    scope = Scope.of(["CARD", "NEURO"])
    assert metrics["patientCount"]["data"] == {"total": 3, "byDepartment": {"CARD": 2, "NEURO": 1}}
    assert metrics["revenue"]["data"] == {
        "currency": "USD",
        "paidTodayCents": 3000,
        "pendingCents": 14,
        "byDepartment": {"CARD": 2000, "NEURO": 1000},
    }
    assert metrics["emergencyAlerts"]["data"]["total"] == 2
    assert {a["departmentId"] for a in metrics["emergencyAlerts"]["data"]["alerts"]} == {
        "CARD",
        "NEURO",
    }
    for name, value in metrics.items():
        assert value["data"] == compute_metric(name, scope), name
        assert value["stale"] is False and value["updatedAt"].endswith("Z")

    historical = client.get("/api/metrics/historical/", range_params()).json()
    assert [row["departmentId"] for row in historical["departmentMetrics"]] == ["CARD", "NEURO"]
    assert sum(row["newPatients"] for row in historical["hourlyStats"]) == 3
    assert sum(row["revenueCents"] for row in historical["hourlyStats"]) == 3000


def test_a_super_admin_sees_every_department_and_the_unassigned(hospital, make_user, client_for):
    metrics = (
        client_for(make_user("root", "super_admin")).get("/api/metrics/snapshot/").json()["metrics"]
    )
    assert metrics["patientCount"]["data"] == {
        "total": 7,
        "byDepartment": {"ER": 3, "CARD": 2, "NEURO": 1, "unassigned": 1},
    }


def test_a_viewer_gets_no_revenue_anywhere(hospital, make_user, client_for):
    client = client_for(make_user("watcher", "viewer", ["ER"]))
    metrics = client.get("/api/metrics/snapshot/").json()["metrics"]
    assert "revenue" not in metrics
    assert metrics["patientCount"]["data"] == {"total": 3, "byDepartment": {"ER": 3}}
    historical = client.get("/api/metrics/historical/", range_params()).json()
    rows = historical["hourlyStats"] + historical["departmentMetrics"]
    assert rows and not [row for row in rows if "revenueCents" in row]
    assert "Cents" not in str(historical)
    assert sum(row["newPatients"] for row in historical["hourlyStats"]) == 3


def test_the_historical_range_is_validated_with_stable_codes(make_user, client_for):
    client = client_for(make_user("root", "super_admin"))
    now = timezone.now()
    cases = {
        "invalid_time_range": {"start": "last tuesday", "end": now.isoformat()},
        "time_range_order": {
            "start": now.isoformat(),
            "end": (now - dt.timedelta(hours=1)).isoformat(),
        },
        "time_range_too_long": {
            "start": (now - dt.timedelta(days=32)).isoformat(),
            "end": now.isoformat(),
        },
        "time_range_in_future": {
            "start": (now + dt.timedelta(hours=2)).isoformat(),
            "end": (now + dt.timedelta(hours=3)).isoformat(),
        },
    }
    for code, params in cases.items():
        response = client.get("/api/metrics/historical/", params)
        assert response.status_code == 400, code
        assert response.json()["code"] == code and response.json()["message"]
    missing = client.get("/api/metrics/historical/")
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid_time_range")


def test_the_historical_rows_cover_the_range_in_whole_local_hours(
    hospital, make_user, client_for, settings
):
    settings.TIME_ZONE = "America/New_York"
    client = client_for(make_user("root", "super_admin"))
    body = client.get(
        "/api/metrics/historical/",
        {
            "start": "2026-11-01T00:10:00-04:00",
            "end": "2026-11-02T00:00:00-05:00",
        },
    ).json()
    assert body["timeRange"] == {
        "start": "2026-11-01T00:00:00-04:00",
        "end": "2026-11-02T00:00:00-05:00",
    }
    assert len(body["hourlyStats"]) == 25
    assert body["hourlyStats"][1]["hour"] == "2026-11-01T01:00:00-04:00"
    assert body["hourlyStats"][2]["hour"] == "2026-11-01T01:00:00-05:00"
    assert [row["departmentId"] for row in body["departmentMetrics"]] == ["CARD", "ER", "NEURO"]
    assert body["departmentMetrics"][1]["name"] == "Emergency"


def test_mongodb_down_gives_stale_values_or_503_when_nothing_is_known(
    hospital, make_user, client_for
):
    client = client_for(make_user("root", "super_admin"))
    known = client.get("/api/metrics/snapshot/").json()["metrics"]
    hospital.client.set_unreachable(True)
    try:
        from metrics import cache

        cache.invalidate_pattern("metric:*")
        stale = client.get("/api/metrics/snapshot/").json()["metrics"]
        assert all(value["stale"] for value in stale.values())
        assert stale["patientCount"]["data"] == known["patientCount"]["data"]

        cache.clear_local()  # a process that never saw a value (and the L2 copies are gone)
        from django.core.cache import cache as l2

        l2.clear()
        down = client.get("/api/metrics/snapshot/")
        assert down.status_code == 503 and down.json()["code"] == "metrics_unavailable"
        historical = client.get("/api/metrics/historical/", range_params())
        assert historical.status_code == 503 and historical.json()["code"] == "metrics_unavailable"
    finally:
        hospital.client.set_unreachable(False)


def test_the_schema_documents_the_three_endpoints_and_their_responses():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    components = schema["components"]["schemas"]

    def response_schema(path, code="200"):
        content = paths[path]["get"]["responses"][code]["content"]["application/json"]["schema"]
        return components[content["$ref"].rsplit("/", 1)[1]]

    parameters = {p["name"]: p for p in paths["/api/metrics/historical/"]["get"]["parameters"]}
    assert parameters["start"]["schema"] == {"type": "string", "format": "date-time"}
    assert set(paths["/api/metrics/historical/"]["get"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "429",
        "503",
    }
    assert set(paths["/api/auth/token/"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "429",
    }
    assert set(paths["/api/auth/token/refresh/"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
    }
    assert set(paths["/api/auth/logout/"]["post"]["responses"]) == {"204", "400", "401"}

    catalogue = response_schema("/api/metrics/")
    assert "metrics" in catalogue["properties"]
    assert set(components["CatalogueEntry"]["properties"]) == {
        "name",
        "tier",
        "ttlSeconds",
        "live",
        "allowed",
    }
    snapshot_metrics = components[
        response_schema("/api/metrics/snapshot/")["properties"]["metrics"]["$ref"].rsplit("/", 1)[1]
    ]
    assert set(snapshot_metrics["properties"]) == {
        "patientCount",
        "emergencyAlerts",
        "roomOccupancy",
        "todayAppointments",
        "revenue",
        "staffActivity",
        "dischargesToday",
        "erWaiting",
    }
    assert set(response_schema("/api/metrics/historical/")["properties"]) == {
        "timeRange",
        "hourlyStats",
        "departmentMetrics",
    }
    assert {p["name"] for p in paths["/api/metrics/historical/"]["get"]["parameters"]} >= {
        "start",
        "end",
    }
    for path, codes in [
        ("/api/metrics/snapshot/", ["503"]),
        ("/api/metrics/historical/", ["400", "503"]),
    ]:
        for code in codes:
            assert set(response_schema(path, code)["properties"]) >= {"code", "message"}
