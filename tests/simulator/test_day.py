"""A whole simulated day at a high rate: the hospital keeps a hospital's proportions, at any rate.

The day runs on a `SimulatedClock` from midnight, at 50 changes a second (ten
times the demo's). The routine record keeping that fills the rate is a
stand-in that reports its changes without writing them: 4.3 million real
writes would take hours, and routine writes change no figure anyway
(`test_routine_record_keeping_changes_no_figure` checks that with real ones).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

import pytest

from metrics import store
from metrics.compute import compute_historical, compute_metric
from metrics.scope import Scope
from simulator.activity import MAX_OPEN_EMERGENCIES, ROUTINE
from simulator.clock import SimulatedClock
from simulator.hospital import HISTORY_DAYS
from simulator.runner import run
from simulator.seed import seed_hospital

from .conftest import HOSPITAL_TZ, SMALL
from .contract import aware, stored

DAY = dt.datetime(2025, 3, 12, tzinfo=HOSPITAL_TZ)  # a Wednesday, from midnight
RATE = 50
SEED = 11
MINUTE = dt.timedelta(minutes=1)


def routine_stand_in(db, rng, now) -> int:
    """25 documents of record keeping a call, reported but not written."""
    return 25


def simulate(db, start: dt.datetime, hours: float, rate: float, report=None, clock=None):
    return run(
        db,
        rate=rate,
        duration=hours * 3600,
        seed=SEED,
        tz=HOSPITAL_TZ,
        clock=clock or SimulatedClock(start),
        routine={"routine": (routine_stand_in, 1)},
        report=report,
        report_every=3600,
    )


def paid_by_hour(db, start: dt.datetime, end: dt.datetime) -> dict[tuple, int]:
    """Cents paid in each local hour of [start, end)."""
    hours: dict[tuple, int] = defaultdict(int)
    span = {"$gte": start.astimezone(dt.UTC), "$lt": end.astimezone(dt.UTC)}
    for bill in db.bills.find({"isActive": True, "status": "paid", "paidAt": span}):
        local = aware(bill["paidAt"]).astimezone(HOSPITAL_TZ)
        hours[local.date(), local.hour] += bill["amountCents"]
    return hours


def census(db) -> Counter:
    return Counter(p["status"] for p in db.patients.find({"isActive": True}, {"status": 1}))


@pytest.fixture
def hospital(hospital_db, settings):
    settings.TIME_ZONE = "America/New_York"
    seed_hospital(hospital_db, seed=SEED, patients=SMALL, now=DAY)
    return hospital_db


@pytest.mark.slow
def test_a_day_at_a_high_rate_keeps_a_hospitals_proportions(hospital):
    db = hospital
    history = paid_by_hour(
        db, DAY - dt.timedelta(days=HISTORY_DAYS - 1), DAY - dt.timedelta(days=1)
    )
    history_days = defaultdict(int)
    for (day, _), cents in history.items():
        history_days[day] += cents
    registered_before = db.patients.count_documents({})
    before = census(db)
    clock = SimulatedClock(DAY)
    at_work, open_emergencies, longest_open = {}, {}, {}

    def every_hour(stretch):
        hour = (clock.now(HOSPITAL_TZ) - MINUTE).hour
        at_work[hour] = db.staff.count_documents(
            {"isActive": True, "status": {"$in": ["on_duty", "on_break"]}}
        ) / db.staff.count_documents({"isActive": True})
        started = [
            aware(flow["startedAt"])
            for flow in db.workflows.find(
                {"isActive": True, "priority": "emergency", "resolvedAt": None}, {"startedAt": 1}
            )
        ]
        open_emergencies[hour] = len(started)
        longest_open[hour] = max((clock.now(HOSPITAL_TZ) - t for t in started), default=MINUTE * 0)

    summary = simulate(db, DAY, 24, RATE, report=every_hour, clock=clock)

    assert summary.rate == pytest.approx(RATE, rel=0.01)
    end = DAY + dt.timedelta(days=1)

    # Appointments: checked in around their slot, seen and billed, or no-shows; none left over.
    today = {"isActive": True, "scheduledAt": {"$gte": DAY, "$lt": end}}
    appointments = list(db.appointments.find(today))
    statuses = Counter(a["status"] for a in appointments)
    assert statuses["scheduled"] == statuses["checked_in"] == 0, statuses
    attended = statuses["completed"] + statuses["no_show"]
    assert attended >= 5 and statuses["completed"] >= 0.7 * attended, statuses
    for appointment in appointments:
        slot = aware(appointment["scheduledAt"])
        if appointment["status"] == "completed":
            checked_in, completed = (
                aware(appointment["checkedInAt"]),
                aware(appointment["completedAt"]),
            )
            assert slot - 21 * MINUTE <= checked_in <= slot + 11 * MINUTE
            assert slot + 15 * MINUTE <= completed <= slot + 48 * MINUTE
            assert db.bills.count_documents({"appointmentId": appointment["_id"]}) == 1

    # Revenue paid: within the band of the hospital's own week, and mostly by day.
    paid = paid_by_hour(db, DAY, end)
    day_total = sum(paid.values())
    # Within the seeded week's days, give or take half (a week of a small hospital is few days).
    assert 0.5 * min(history_days.values()) <= day_total <= 1.5 * max(history_days.values())
    # No hour far above the seeded week's busiest (one long stay paid at once makes a peak).
    assert max(paid.values()) <= 2 * max(history.values())
    office, night = range(8, 18), range(0, 6)
    assert sum(paid.get((DAY.date(), h), 0) for h in office) > sum(
        paid.get((DAY.date(), h), 0) for h in night
    )

    # Arrivals as in the seeded week; admissions and discharges balance.
    registered = db.patients.count_documents({}) - registered_before
    assert 0.5 * SMALL / HISTORY_DAYS <= registered <= 1.8 * SMALL / HISTORY_DAYS
    after = census(db)
    for status in ("admitted", "outpatient"):
        # (plus three standard deviations of a Poisson count: the test hospital is small)
        slack = 0.35 * before[status] + 3 * before[status] ** 0.5
        assert abs(after[status] - before[status]) <= slack, (before, after)

    # Shifts: a bigger day shift than night shift; a handful of emergencies, never past the cap.
    assert 0.4 <= at_work[3] <= 0.6 and 0.4 <= at_work[22] <= 0.6, at_work
    assert 0.5 <= at_work[10] <= 0.7 and 0.5 <= at_work[15] <= 0.7, at_work
    assert max(open_emergencies.values()) <= MAX_OPEN_EMERGENCIES
    # Emergencies are handled within the hour: none is left open for hours.
    assert max(longest_open.values()) <= 90 * MINUTE, longest_open
    assert summary.by_kind["raise_emergency"] > 0 and summary.by_kind["resolve_emergency"] > 0


def test_the_hospitals_day_is_the_same_at_any_rate(settings, tmp_path):
    settings.TIME_ZONE = "America/New_York"
    morning = DAY.replace(hour=8)
    days = []
    for rate in (1, RATE):
        settings.EMBEDDED_STORE_PATH = str(tmp_path / f"rate-{rate}.sqlite3")
        store.reset_client()
        db = store.get_database()
        seed_hospital(db, seed=SEED, patients=SMALL, now=morning)
        summary = simulate(db, morning, 3, rate)
        hospital = {kind: n for kind, n in summary.by_kind.items() if kind != "routine"}
        days.append((hospital, stored(db)))
        assert summary.rate == pytest.approx(rate, rel=0.02)

    (slow, slow_documents), (fast, fast_documents) = days
    assert slow == fast and sum(slow.values()) > 50
    assert slow_documents == fast_documents


def test_pace_makes_the_hospital_busier_and_the_rate_does_not(settings, tmp_path):
    """`--pace` is what changes the page: every hospital event that many times as often."""
    settings.TIME_ZONE = "America/New_York"
    morning = DAY.replace(hour=10)
    events = {}
    for pace in (1, 3):
        settings.EMBEDDED_STORE_PATH = str(tmp_path / f"pace-{pace}.sqlite3")
        store.reset_client()
        db = store.get_database()
        seed_hospital(db, seed=SEED, patients=SMALL, now=morning)
        summary = run(
            db,
            rate=RATE,
            pace=pace,
            duration=3600,
            seed=SEED,
            tz=HOSPITAL_TZ,
            clock=SimulatedClock(morning),
            routine={"routine": (routine_stand_in, 1)},
        )
        events[pace] = {kind: n for kind, n in summary.by_kind.items() if kind != "routine"}
        assert summary.rate == pytest.approx(RATE, rel=0.02)  # the rate is the rate still

    for kind in ("register_patient", "turn_over_room", "take_break"):
        assert events[3][kind] >= 2 * events[1][kind] > 0, (kind, events)
    assert 2.2 <= sum(events[3].values()) / sum(events[1].values()) <= 3.8, events


@pytest.mark.django_db
@pytest.mark.incidental_database  # a user to compute for: the PostgreSQL pass leaves it out
def test_routine_record_keeping_changes_no_figure(hospital):
    now = DAY.replace(hour=11)
    live = [
        "patientCount",
        "emergencyAlerts",
        "roomOccupancy",
        "todayAppointments",
        "revenue",
        "staffActivity",
    ]

    def figures():
        values = {metric: compute_metric(metric, Scope.all(), now=now) for metric in live}
        values["trends"] = compute_historical(now - dt.timedelta(days=7), now, Scope.all())
        return values

    before = figures()
    written = 0
    for step in range(120):
        for event, _ in ROUTINE.values():
            written += event(hospital, random.Random(step), now + step * MINUTE)
    assert written >= 300
    assert figures() == before
