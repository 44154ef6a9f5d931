"""The listener's state reads acknowledgements once per alert, and again only after the table changed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.compute import compute_base
from metrics.incremental import IncrementalMetrics
from metrics.models import AlertAcknowledgement


def emergency(department: str) -> dict:
    return {
        "isActive": True,
        "priority": "emergency",
        "departmentId": department,
        "startedAt": dt.datetime.now(dt.UTC),
    }


@pytest.mark.django_db
def test_acknowledgements_are_read_again_only_when_the_table_changes(hospital_db):
    now = dt.datetime.now(dt.UTC)
    ids = hospital_db.workflows.insert_many([emergency("ER"), emergency("CARD")]).inserted_ids
    state = IncrementalMetrics.build(hospital_db, now)

    def built() -> tuple[dict, int]:
        with CaptureQueriesContext(connection) as queries:
            base = state.base("emergencyAlerts", now)
        return base, len(queries)

    first, reads = built()
    assert reads == 2  # the table's state, then the two listed alerts
    assert first == compute_base("emergencyAlerts", now=now)
    again, reads = built()
    assert reads == 1 and again == first  # nothing changed: the table's state only

    AlertAcknowledgement.objects.create(
        alert_id=str(ids[0]), acknowledged_by_username="dr.who", acknowledged_at=now
    )
    acknowledged, reads = built()
    assert reads == 2
    assert acknowledged["departments"]["ER"]["alerts"][0]["acknowledgedBy"] == "dr.who"
    assert acknowledged == compute_base("emergencyAlerts", now=now)
    assert built() == (acknowledged, 1)
