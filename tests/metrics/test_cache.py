"""The three cache layers: L1 (1 s), L2 (the tier's TTL), MongoDB; single flight; stale fallback."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading

import pytest
from django.test import override_settings

from metrics import cache, selectors
from metrics.cache import MetricUnavailable
from metrics.scope import Scope
from metrics.selectors import (
    get_historical,
    get_live_value,
    get_snapshot,
    project_value,
    refresh_live_value,
)
from metrics.values import MetricValue
from metrics.versions import position_now, version_of
from runtime import telemetry
from runtime.breakers import mongodb_breaker

from .conftest import admit, viewer

ALL = Scope.all()


@pytest.fixture
def clock(monkeypatch):
    """The cache's wall clock, moved by hand: clock.advance(seconds)."""

    class Clock:
        now = 1_000_000.0

        def __call__(self) -> float:
            return self.now

        def advance(self, seconds: float) -> None:
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(cache.layers, "clock", fake)
    return fake


@pytest.fixture
def computations(monkeypatch):
    """Counts base computations (by metric) that reach MongoDB (its position first, then the
    aggregation)."""
    calls: list[str] = []
    real = selectors._compute_live

    def counting(metric):
        calls.append(metric)
        return real(metric)

    monkeypatch.setattr(selectors, "_compute_live", counting)
    return calls


def total(scope=ALL) -> int:
    return get_live_value("patientCount", scope).data["total"]


def test_reads_come_from_l1_then_l2_until_the_tier_ttl_ends(hospital_db, clock, computations):
    admit(hospital_db)
    assert total() == 1
    admit(hospital_db)
    clock.advance(0.5)
    assert total() == 1  # L1
    clock.advance(1.0)
    assert total() == 1  # L1 expired, L2 (5 s for a critical metric)
    clock.advance(3.4)
    assert total() == 1
    assert computations == ["patientCount"]
    clock.advance(0.1)  # 5 s after it was stored
    assert total() == 2
    assert computations == ["patientCount", "patientCount"]


def test_an_l2_value_is_never_served_past_its_ttl_even_through_l1(hospital_db, clock, computations):
    admit(hospital_db)
    assert total() == 1
    clock.advance(4.5)
    cache.clear_local()  # another process: its L1 is empty, it reads the L2 entry
    assert total() == 1
    admit(hospital_db)
    clock.advance(0.6)  # L1 would allow 1 s, but the L2 entry it came from is now 5.1 s old
    assert total() == 2
    assert len(computations) == 2


def test_the_standard_tier_lives_30_seconds(hospital_db, clock, computations):
    assert get_live_value("staffActivity", ALL).data["total"] == 0
    hospital_db.staff.insert_one({"isActive": True, "status": "on_duty", "role": "nurse"})
    clock.advance(29.9)
    assert get_live_value("staffActivity", ALL).data["total"] == 0
    clock.advance(0.1)
    assert get_live_value("staffActivity", ALL).data["total"] == 1


def test_concurrent_misses_compute_once(hospital_db, monkeypatch):
    admit(hospital_db, n=3)
    calls, gate = [], threading.Event()
    real = selectors.compute_base

    def slow(metric, *, now=None):
        calls.append(metric)
        gate.wait(5)
        return real(metric, now=now)

    monkeypatch.setattr(selectors, "compute_base", slow)
    results, errors = [], []

    def read(scope):
        try:
            results.append(get_live_value("patientCount", scope))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=read, args=(ALL if i % 2 else Scope.of(["ER"]),)) for i in range(16)
    ]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.3)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert calls == ["patientCount"]
    assert len(results) == 16 and {value.version for value in results} == {results[0].version}
    assert {value.data["total"] for value in results} == {3}


def test_scoped_reads_project_the_one_cached_base(hospital_db, computations):
    admit(hospital_db, "ER", 2)
    admit(hospital_db, "CARD", 3)
    er = get_live_value("patientCount", Scope.of(["ER"]))
    both = get_live_value("patientCount", Scope.of(["ER", "CARD"]))
    nothing = get_live_value("patientCount", Scope.of([]))
    assert (er.data["total"], both.data["total"], nothing.data["total"]) == (2, 5, 0)
    assert er.data["byDepartment"] == {"ER": 2}
    assert er.version == both.version == nothing.version
    assert computations == ["patientCount"]


def test_mongodb_unreachable_serves_the_last_known_value_marked_stale(hospital_db, clock):
    admit(hospital_db, "ER", 2)
    fresh = get_live_value("patientCount", ALL)
    assert fresh.stale is False
    hospital_db.client.set_unreachable(True)
    try:
        clock.advance(60)  # every layer has expired
        stale = get_live_value("patientCount", Scope.of(["ER"]))
        assert stale.stale is True
        assert stale.data == {"total": 2, "byDepartment": {"ER": 2}}
        assert stale.version == fresh.version and stale.updated_at == fresh.updated_at
        assert stale.to_update()["stale"] is True
        with pytest.raises(MetricUnavailable) as caught:
            get_live_value("roomOccupancy", ALL)  # never computed: nothing to fall back on
        assert caught.value.metrics == ["roomOccupancy"]
    finally:
        hospital_db.client.set_unreachable(False)
    admit(hospital_db, "ER")
    assert get_live_value("patientCount", ALL).stale is False
    assert total() == 3


def test_an_open_mongodb_circuit_falls_back_without_waiting_for_mongodb(
    hospital_db, clock, computations
):
    admit(hospital_db)
    total()
    hospital_db.client.set_unreachable(True)
    try:
        for _ in range(6):
            clock.advance(10)
            assert get_live_value("patientCount", ALL).stale is True
        assert mongodb_breaker.current_state == "open"
        assert len(computations) == 4  # the first read, then three failures opened the circuit
    finally:
        hospital_db.client.set_unreachable(False)


def test_while_mongodb_is_known_down_older_cached_values_are_marked_stale(hospital_db):
    admit(hospital_db)
    before = get_live_value("patientCount", ALL)
    mongodb_breaker.open()  # what the hub's probe does when MongoDB stops answering
    cached = get_live_value("patientCount", ALL)
    assert (cached.stale, cached.version) == (True, before.version)
    after, _ = refresh_live_value("patientCount")  # computed once MongoDB answers again
    assert get_live_value("patientCount", ALL).stale is False
    mongodb_breaker.close()
    assert get_live_value("patientCount", ALL).version == after.version


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failing_l2_is_skipped_counted_and_logged_once(hospital_db, clock, caplog, monkeypatch):
    monkeypatch.setattr(cache._shared, "_logged_at", 0.0)
    errors = telemetry.errors.labels(kind="cache_l2")
    before = errors._value.get()
    broken = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
        }
    }
    with override_settings(CACHES=broken), caplog.at_level(logging.WARNING, "dashboard.cache"):
        admit(hospital_db)
        assert total() == 1
        admit(hospital_db)
        clock.advance(0.5)
        assert total() == 1  # L1 still works
        clock.advance(1)
        assert total() == 2  # no L2: straight to MongoDB
        value, changed = refresh_live_value("patientCount")
        assert (value.data["unassigned"], value.data["departments"], changed) == (
            None,
            {"ER": 2},
            False,
        )
        assert cache.invalidate_pattern("metric:*") == 0
        assert get_historical(viewer(), *day())["hourlyStats"]
    assert errors._value.get() > before
    warnings = [r for r in caplog.records if "L2 unavailable" in r.getMessage()]
    assert len(warnings) == 1


def test_refresh_recomputes_stores_and_says_whether_the_value_changed(hospital_db, computations):
    admit(hospital_db)
    first, changed = refresh_live_value("patientCount")
    assert changed is True
    assert get_live_value("patientCount", ALL).version == first.version  # served from the cache
    second, changed = refresh_live_value("patientCount")
    # Nothing was written since: the same database position, so the same version.
    assert changed is False and second.version == first.version
    with hospital_db.client.start_session() as session:
        hospital_db.patients.insert_one(
            {"departmentId": "CARD", "status": "admitted", "isActive": True}, session=session
        )
        written = version_of(session.operation_time)
    third, changed = refresh_live_value("patientCount")
    assert changed is True and third.data["departments"] == {"ER": 1, "CARD": 1}
    assert third.version >= written > first.version
    assert get_live_value("patientCount", Scope.of(["CARD"])).data == {
        "total": 1,
        "byDepartment": {"CARD": 1},
    }
    assert computations == ["patientCount"] * 3


def test_an_older_value_never_replaces_a_newer_one(hospital_db):
    now = dt.datetime.now(dt.UTC)
    newer = MetricValue("patientCount", {"departments": {"ER": 2}, "unassigned": None}, 20, now)
    older = MetricValue("patientCount", {"departments": {"ER": 1}, "unassigned": None}, 10, now)
    cache.store(newer)
    cache.store(older)
    assert get_live_value("patientCount", ALL).version == 20
    cache.clear_local()
    assert get_live_value("patientCount", ALL).version == 20  # from L2
    cache.prime_local(older)
    assert get_live_value("patientCount", ALL).version == 20
    # The same version computed again later (time passed, not the data): the later one stays.
    again = MetricValue("patientCount", {"departments": {"ER": 3}, "unassigned": None}, 20, now)
    cache.store(again)
    assert get_live_value("patientCount", ALL).data["total"] == 3
    cache.clear_local()
    assert get_live_value("patientCount", ALL).data["total"] == 3  # from L2


def test_a_primed_value_is_served_by_this_process(hospital_db, computations):
    primed = MetricValue(
        "patientCount",
        {"departments": {"NEURO": 7}, "unassigned": None},
        position_now(hospital_db),
        dt.datetime.now(dt.UTC),
    )
    cache.prime_local(primed)
    value = get_live_value("patientCount", Scope.of(["NEURO"]))
    assert (
        value.data == {"total": 7, "byDepartment": {"NEURO": 7}} and value.version == primed.version
    )
    assert computations == []


def test_project_value_keeps_version_time_and_staleness():
    base = MetricValue(
        "revenue",
        {
            "departments": {"ER": {"paidTodayCents": 5, "pendingCents": 1}},
            "unassigned": None,
            "currency": "USD",
        },
        42,
        dt.datetime(2026, 3, 8, tzinfo=dt.UTC),
        stale=True,
    )
    scoped = project_value(base, Scope.of(["CARD"]))
    assert (scoped.version, scoped.updated_at, scoped.stale) == (42, base.updated_at, True)
    assert scoped.data == {
        "currency": "USD",
        "paidTodayCents": 0,
        "pendingCents": 0,
        "byDepartment": {},
    }
    assert scoped.to_update() == {
        "data": scoped.data,
        "updatedAt": "2026-03-08T00:00:00.000Z",
        "stale": True,
        "version": 42,
    }


def test_invalidation_drops_values_but_keeps_the_last_known_copy(hospital_db, clock, computations):
    admit(hospital_db)
    total()
    get_live_value("staffActivity", ALL)
    admit(hospital_db)
    assert cache.invalidate("patientCount") == 1
    assert total() == 2
    admit(hospital_db)
    assert cache.invalidate_pattern("metric:*") == 2  # patientCount and staffActivity in L2
    assert total() == 3
    assert computations == ["patientCount", "staffActivity", "patientCount", "patientCount"]
    cache.invalidate_pattern("metric:*")
    hospital_db.client.set_unreachable(True)
    try:
        assert get_live_value("patientCount", ALL).data["total"] == 3  # last known, stale
    finally:
        hospital_db.client.set_unreachable(False)


def day():
    return dt.datetime(2026, 3, 8, tzinfo=dt.UTC), dt.datetime(2026, 3, 9, tzinfo=dt.UTC)


def test_historical_results_are_cached_by_range_and_scope(hospital_db, clock):
    moment = dt.datetime(2026, 3, 8, 10, 30, tzinfo=dt.UTC)
    hospital_db.patients.insert_one(
        {"isActive": True, "departmentId": "ER", "registeredAt": moment}
    )
    first = get_historical(viewer(), *day())
    hospital_db.patients.insert_one(
        {"isActive": True, "departmentId": "ER", "registeredAt": moment}
    )
    clock.advance(299)
    assert get_historical(viewer(), *day()) == first
    assert (
        get_historical(viewer(["ER"]), *day())["hourlyStats"][10]["newPatients"] == 2
    )  # other scope
    clock.advance(1)
    assert get_historical(viewer(), *day())["hourlyStats"][10]["newPatients"] == 2


def test_snapshot_lists_every_live_metric_the_user_may_see(hospital_db):
    admit(hospital_db, "ER", 2)
    admit(hospital_db, "CARD")
    snapshot = get_snapshot(viewer(["CARD"]))["metrics"]
    assert list(snapshot) == [
        "patientCount",
        "emergencyAlerts",
        "roomOccupancy",
        "erWaiting",
        "todayAppointments",
        "staffActivity",
        "dischargesToday",
    ]
    assert snapshot["patientCount"]["data"] == {"total": 1, "byDepartment": {"CARD": 1}}
    assert set(snapshot["patientCount"]) == {"data", "updatedAt", "stale", "version"}
