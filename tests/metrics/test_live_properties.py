"""Every live metric, for every scope, equals a plain recount of the same documents.

The recounts below read the generated documents directly, in plain Python,
with "today" taken as "same calendar date in New York as now".
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter

import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.catalogue import LIVE_METRICS
from metrics.models import AlertAcknowledgement
from metrics.scope import Scope
from metrics.selectors import compute_metric

from .conftest import empty_store
from .states import CODES, TIME_ZONE, ZONE, hospital_states

# Django's database only holds the users whose scopes are drawn: the PostgreSQL pass leaves these out.
pytestmark = pytest.mark.incidental_database

APPOINTMENT_STATUSES = ["scheduled", "checked_in", "completed", "cancelled", "no_show"]
ROOM_TYPES = ["ward", "icu", "er", "or", "consult"]
ROOM_STATUSES = ["available", "occupied", "cleaning", "maintenance"]
STAFF_STATUSES = ["on_duty", "off_duty", "on_break"]
STAFF_ROLES = ["doctor", "nurse", "technician", "admin"]
FIXED_SCOPES = [None, {"ER"}, {"ER", "CARD"}, set()]


# --- the recount ------------------------------------------------------------------------------------
def counted(docs, scope):
    """Active documents in scope: all of them for None, else those whose department is in the set."""
    return [
        doc
        for doc in docs
        if doc.get("isActive") is True and (scope is None or doc.get("departmentId") in scope)
    ]


def where(doc):
    return doc.get("departmentId") if doc.get("departmentId") is not None else "unassigned"


def category(value):
    return "unknown" if value is None else value


def tally(values, every):
    counts = dict.fromkeys(every, 0)
    for value in values:
        counts[category(value)] = counts.get(category(value), 0) + 1
    return counts


def today(moment, now):
    return moment is not None and moment.astimezone(ZONE).date() == now.astimezone(ZONE).date()


def utc_text(moment):
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def patient_count(docs, scope, now, acks):
    patients = [p for p in counted(docs["patients"], scope) if p.get("status") != "discharged"]
    return {"total": len(patients), "byDepartment": dict(Counter(where(p) for p in patients))}


def emergency_alerts(docs, scope, now, acks):
    open_ = [
        w
        for w in counted(docs["workflows"], scope)
        if w["priority"] == "emergency" and w.get("resolvedAt") is None
    ]
    earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
    open_.sort(key=lambda w: (w.get("startedAt") or earliest, w["_id"]), reverse=True)
    alerts = []
    for w in open_[:50]:
        alert = {
            "id": str(w["_id"]),
            "patientId": w.get("patientId"),
            "departmentId": w.get("departmentId"),
            "stage": w.get("stage"),
            "startedAt": utc_text(w["startedAt"]) if w.get("startedAt") else None,
        }
        if str(w["_id"]) in acks:
            alert["acknowledgedBy"], alert["acknowledgedAt"] = acks[str(w["_id"])]
        alerts.append(alert)
    return {"total": len(open_), "alerts": alerts}


def room_occupancy(docs, scope, now, acks):
    def rate(entry):
        return round(entry["occupiedBeds"] / entry["beds"], 4) if entry["beds"] else 0

    zero = {"rooms": 0, "beds": 0, "occupiedBeds": 0}
    departments = {}
    for room in counted(docs["rooms"], scope):
        entry = departments.setdefault(
            where(room),
            {
                **zero,
                "byType": {t: dict(zero) for t in ROOM_TYPES},
                "byStatus": dict.fromkeys(ROOM_STATUSES, 0),
            },
        )
        kind = entry["byType"].setdefault(category(room.get("type")), dict(zero))
        for target in (entry, kind):
            target["rooms"] += 1
            target["beds"] += room.get("capacity", 0)
            target["occupiedBeds"] += room.get("occupiedBeds", 0)
        status = category(room.get("status"))
        entry["byStatus"][status] = entry["byStatus"].get(status, 0) + 1
    for entry in departments.values():
        entry["occupancyRate"] = rate(entry)
    totals = {name: sum(e[name] for e in departments.values()) for name in zero}
    return {"totals": {**totals, "occupancyRate": rate(totals)}, "byDepartment": departments}


def today_appointments(docs, scope, now, acks):
    appointments = [
        a for a in counted(docs["appointments"], scope) if today(a.get("scheduledAt"), now)
    ]
    return {
        "total": len(appointments),
        "byStatus": tally((a.get("status") for a in appointments), APPOINTMENT_STATUSES),
        "byDepartment": dict(Counter(where(a) for a in appointments)),
    }


def revenue(docs, scope, now, acks):
    bills = [b for b in counted(docs["bills"], scope) if b.get("currency") == "USD"]
    paid = [b for b in bills if b["status"] == "paid" and today(b.get("paidAt"), now)]
    pending = [b for b in bills if b["status"] == "pending"]
    by_department = {where(b): 0 for b in paid + pending}
    for bill in paid:
        by_department[where(bill)] += bill["amountCents"]
    return {
        "currency": "USD",
        "paidTodayCents": sum(b["amountCents"] for b in paid),
        "pendingCents": sum(b["amountCents"] for b in pending),
        "byDepartment": by_department,
    }


def staff_activity(docs, scope, now, acks):
    staff = counted(docs["staff"], scope)
    return {
        "total": len(staff),
        "byStatus": tally((s.get("status") for s in staff), STAFF_STATUSES),
        "byRole": tally((s.get("role") for s in staff), STAFF_ROLES),
        "byDepartment": {
            department: tally(
                (s.get("status") for s in staff if where(s) == department), STAFF_STATUSES
            )
            for department in {where(s) for s in staff}
        },
    }


def discharges_today(docs, scope, now, acks):
    discharged = [
        p
        for p in counted(docs["patients"], scope)
        if p.get("status") == "discharged"
        and p.get("admittedAt") is not None
        and isinstance(p.get("dischargedAt"), dt.datetime)
        and today(p["dischargedAt"], now)
    ]
    before = [p for p in discharged if p["dischargedAt"].astimezone(ZONE).hour < 12]
    return {
        "total": len(discharged),
        "beforeNoon": len(before),
        "beforeNoonShare": round(len(before) / len(discharged), 4) if discharged else 0,
        "byDepartment": dict(Counter(where(p) for p in discharged)),
    }


def er_waiting(docs, scope, now, acks):
    waiting = [
        p
        for p in counted(docs["patients"], scope)
        if p.get("departmentId") == "ER"
        and p.get("status") == "outpatient"
        and p.get("seenAt") is None
        and p.get("dischargedAt") is None
    ]
    registered = [p["registeredAt"] for p in waiting if p.get("registeredAt") is not None]
    oldest = min(registered, default=None)
    as_of = now.replace(microsecond=0)
    return {
        "total": len(waiting),
        "longestWaitSeconds": max(0, int((as_of - oldest).total_seconds())) if oldest else 0,
        "oldestRegisteredAt": utc_text(oldest) if oldest else None,
        "byTriage": tally(
            (None if p.get("triageLevel") is None else str(p["triageLevel"]) for p in waiting),
            ["1", "2", "3", "4", "5"],
        ),
        "byDepartment": dict(Counter(where(p) for p in waiting)),
    }


RECOUNT = {
    "patientCount": patient_count,
    "emergencyAlerts": emergency_alerts,
    "roomOccupancy": room_occupancy,
    "todayAppointments": today_appointments,
    "revenue": revenue,
    "staffActivity": staff_activity,
    "dischargesToday": discharges_today,
    "erWaiting": er_waiting,
}


# --- the tests -----------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def new_york(settings):
    settings.TIME_ZONE = TIME_ZONE
    settings.HOSPITAL_CURRENCY = "USD"


def load(db, state) -> tuple[dict, dict]:
    """Insert the state through the store; return the documents (with ids) and the acknowledgements."""
    empty_store(db)
    AlertAcknowledgement.objects.all().delete()
    documents = copy.deepcopy(state.documents)
    for name, docs in documents.items():
        for doc in docs:
            doc.setdefault("_id", ObjectId())
        if docs:
            db[name].insert_many(copy.deepcopy(docs))
    acks = {}
    workflows = documents["workflows"]
    for index in state.acknowledged:
        if index < len(workflows):
            moment = state.now - dt.timedelta(minutes=index)
            AlertAcknowledgement.objects.create(
                alert_id=str(workflows[index]["_id"]),
                acknowledged_by_username=f"admin{index}",
                acknowledged_at=moment,
            )
            acks[str(workflows[index]["_id"])] = (f"admin{index}", utc_text(moment))
    return documents, acks


PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
any_scope = st.one_of(st.none(), st.sets(st.sampled_from(CODES + ("OTHER",)), max_size=3))


@pytest.mark.django_db
@pytest.mark.parametrize("metric", LIVE_METRICS)
@PROPERTY_SETTINGS
@given(state=hospital_states(), extra_scope=any_scope)
def test_live_metric_equals_a_plain_recount_for_every_scope(
    metric, state, extra_scope, hospital_db
):
    documents, acks = load(hospital_db, state)
    for scope in [*FIXED_SCOPES, extra_scope]:
        computed = compute_metric(
            metric, Scope.all() if scope is None else Scope.of(scope), now=state.now
        )
        assert computed == RECOUNT[metric](documents, scope, state.now, acks), (metric, scope)
        # JSON-ready, and no patient name or MRN in any value.
        text = json.dumps(computed)
        assert "Secretname" not in text and "MRN-SECRET" not in text
