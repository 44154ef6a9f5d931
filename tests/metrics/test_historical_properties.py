"""hourlyStats and departmentMetrics equal a plain recount, across daylight-saving changes."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.compute import compute_historical
from metrics.scope import Scope

from .conftest import empty_store
from .states import CODES, TIME_ZONE, ZONE, hospital_states, ranges

# Django's database only holds the users whose scopes are drawn: the PostgreSQL pass leaves these out.
pytestmark = pytest.mark.incidental_database

FIELDS = ["newPatients", "appointments", "completedAppointments", "revenueCents", "emergencies"]


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.TIME_ZONE = TIME_ZONE
    settings.HOSPITAL_CURRENCY = "USD"


def hour_of(moment):
    """The local wall-clock hour containing `moment`, with its offset (distinct on a 25-hour day)."""
    return moment.astimezone(ZONE).replace(minute=0, second=0, microsecond=0).isoformat()


def hours_touched(start, end):
    """Every local hour that [start, end) touches, in order."""
    seen = {
        hour_of(start + dt.timedelta(minutes=m))
        for m in range(int((end - start).total_seconds() // 60) + 1)
        if start + dt.timedelta(minutes=m) < end
    }
    seen.add(hour_of(end - dt.timedelta(milliseconds=1)))
    return sorted(seen, key=dt.datetime.fromisoformat)


def contributions(docs, scope):
    """(hour, department, field, amount) for every active document in scope, per the definitions."""

    def counted(name):
        return [
            d
            for d in docs[name]
            if d.get("isActive") is True and (scope is None or d.get("departmentId") in scope)
        ]

    for p in counted("patients"):
        if p.get("registeredAt"):
            yield hour_of(p["registeredAt"]), p.get("departmentId"), "newPatients", 1
    for a in counted("appointments"):
        if a.get("scheduledAt"):
            yield hour_of(a["scheduledAt"]), a.get("departmentId"), "appointments", 1
            if a.get("status") == "completed":
                yield hour_of(a["scheduledAt"]), a.get("departmentId"), "completedAppointments", 1
    for b in counted("bills"):
        if b["status"] == "paid" and b.get("currency") == "USD" and b.get("paidAt"):
            yield hour_of(b["paidAt"]), b.get("departmentId"), "revenueCents", b["amountCents"]
    for w in counted("workflows"):
        if w["priority"] == "emergency" and w.get("startedAt"):
            yield hour_of(w["startedAt"]), w.get("departmentId"), "emergencies", 1


def recount(docs, start, end, scope):
    hours = hours_touched(start, end)
    rows = {hour: dict.fromkeys(FIELDS, 0) for hour in hours}
    departments = {}
    for hour, department, name, amount in contributions(docs, scope):
        if hour in rows:
            rows[hour][name] += amount
            row = departments.setdefault(department, dict.fromkeys(FIELDS, 0))
            row[name] += amount
    names = {
        d["_id"]: d["name"]
        for d in docs["departments"]
        if d.get("isActive") is True and (scope is None or d["_id"] in scope)
    }
    for code in names:
        departments.setdefault(code, dict.fromkeys(FIELDS, 0))
    department_rows = [
        {"departmentId": code, "name": names.get(code, code), **departments[code]}
        for code in sorted(c for c in departments if c is not None)
    ]
    if None in departments:
        department_rows.append(
            {"departmentId": "unassigned", "name": "Unassigned", **departments[None]}
        )
    return {
        "hourlyStats": [{"hour": hour, **rows[hour]} for hour in hours],
        "departmentMetrics": department_rows,
    }


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    state=hospital_states(),
    span=ranges(),
    scope=st.one_of(st.none(), st.sets(st.sampled_from(CODES), max_size=2)),
)
def test_historical_metrics_equal_a_plain_recount(state, span, scope, hospital_db):
    empty_store(hospital_db)
    docs = copy.deepcopy(state.documents)
    for name, items in docs.items():
        if items:
            hospital_db[name].insert_many(copy.deepcopy(items))
    start, end = span
    computed = compute_historical(start, end, Scope.all() if scope is None else Scope.of(scope))
    assert computed == recount(docs, start, end, scope)


@pytest.mark.parametrize(
    ("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25), ("2026-07-14", 24)]
)
def test_a_local_day_has_one_row_per_local_hour(day, hours):
    start = dt.datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=ZONE)
    end = start.date() + dt.timedelta(days=1)
    end = dt.datetime.combine(end, dt.time(), tzinfo=ZONE)
    rows = compute_historical(start, end, Scope.all())["hourlyStats"]
    assert len(rows) == hours
    assert len({row["hour"] for row in rows}) == hours
    assert (
        rows[0]["hour"]
        == f"{day}T00:00:00" + start.strftime("%z")[:3] + ":" + start.strftime("%z")[3:]
    )


def test_a_range_is_widened_to_whole_local_hours():
    start = dt.datetime(2026, 7, 14, 10, 15, tzinfo=ZONE)
    end = dt.datetime(2026, 7, 14, 12, 5, tzinfo=ZONE)
    rows = compute_historical(start, end, Scope.all())["hourlyStats"]
    assert [row["hour"] for row in rows] == [
        "2026-07-14T10:00:00-04:00",
        "2026-07-14T11:00:00-04:00",
        "2026-07-14T12:00:00-04:00",
    ]
