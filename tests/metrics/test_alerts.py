"""Emergency alerts: the newest 50 of any scope, the full count, acknowledgements merged in."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from metrics.models import AlertAcknowledgement
from metrics.scope import Scope
from metrics.selectors import compute_metric

T0 = dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)


def emergency(department, minutes, **extra):
    return {
        "_id": ObjectId(),
        "isActive": True,
        "priority": "emergency",
        "stage": "triage",
        "patientId": ObjectId(),
        "departmentId": department,
        "startedAt": T0 - dt.timedelta(minutes=minutes),
        **extra,
    }


@pytest.mark.django_db
def test_every_scope_lists_its_own_newest_fifty_and_counts_them_all(hospital_db):
    # ER alerts are the newest overall, so a base keeping only the newest 50 overall would
    # leave nothing to list for CARD or NEURO alone.
    docs = (
        [emergency("ER", m) for m in range(70)]
        + [emergency("CARD", 100 + m) for m in range(60)]
        + [emergency("NEURO", 200 + m) for m in range(5)]
        + [emergency("CARD", 0, resolvedAt=T0), emergency("ER", 0, isActive=False)]
    )
    hospital_db.workflows.insert_many(docs)

    def listed(scope):
        value = compute_metric("emergencyAlerts", scope, now=T0)
        return value["total"], [alert["id"] for alert in value["alerts"]]

    def expected(codes, total):
        open_ = [
            d
            for d in docs
            if d["departmentId"] in codes and "resolvedAt" not in d and d["isActive"]
        ]
        open_.sort(key=lambda d: d["startedAt"], reverse=True)
        assert len(open_) == total
        return total, [str(d["_id"]) for d in open_[:50]]

    assert listed(Scope.all()) == expected({"ER", "CARD", "NEURO"}, 135)
    assert listed(Scope.of(["CARD"])) == expected({"CARD"}, 60)
    assert listed(Scope.of(["CARD", "NEURO"])) == expected({"CARD", "NEURO"}, 65)
    assert listed(Scope.of(["NEURO"])) == expected({"NEURO"}, 5)
    assert listed(Scope.of([])) == (0, [])


@pytest.mark.django_db
def test_an_alert_carries_ids_and_its_acknowledgement_never_names(hospital_db):
    patient = hospital_db.patients.insert_one(
        {
            "isActive": True,
            "name": "Ada Lovelace",
            "mrn": "MRN-0042",
            "status": "admitted",
            "departmentId": "ER",
        }
    ).inserted_id
    seen = emergency("ER", 5, patientId=patient)
    unseen = emergency("ER", 1)
    hospital_db.workflows.insert_many([seen, unseen])
    AlertAcknowledgement.objects.create(
        alert_id=str(seen["_id"]),
        department_id="ER",
        acknowledged_by_username="dr.who",
        acknowledged_at=dt.datetime(2026, 3, 8, 12, 1, 2, 345000, tzinfo=dt.UTC),
    )

    alerts = compute_metric("emergencyAlerts", Scope.all(), now=T0)["alerts"]

    assert alerts[0] == {
        "id": str(unseen["_id"]),
        "patientId": str(unseen["patientId"]),
        "departmentId": "ER",
        "stage": "triage",
        "startedAt": "2026-03-08T11:59:00.000Z",
    }
    assert alerts[1] == {
        "id": str(seen["_id"]),
        "patientId": str(patient),
        "departmentId": "ER",
        "stage": "triage",
        "startedAt": "2026-03-08T11:55:00.000Z",
        "acknowledgedBy": "dr.who",
        "acknowledgedAt": "2026-03-08T12:01:02.345Z",
    }
    assert "Ada" not in str(alerts) and "MRN-0042" not in str(alerts)
