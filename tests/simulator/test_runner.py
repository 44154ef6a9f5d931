"""The pacing loop: a steady rate of changes, an honest achieved rate, a clean stop."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from pymongo.errors import AutoReconnect

from simulator import runner
from simulator.clock import SimulatedClock
from simulator.runner import run

# The pacing alone: no hospital events (they need a database), routine stand-ins only.
NO_HOSPITAL = {"rates": {}, "clocked": {}}


def writes(changes: int = 1, seconds: float = 0.0, calls: list | None = None):
    """A stand-in event: reports `changes` writes after `seconds`."""

    def event(db, rng, now):
        if calls is not None:
            calls.append(now)
        time.sleep(seconds)
        return changes

    return event


def test_changes_come_at_the_asked_rate():
    summary = run(None, rate=100, duration=0.5, routine={"tick": (writes(), 1)}, **NO_HOSPITAL)

    assert 40 <= summary.changes <= 52  # the lower bound leaves room for a loaded machine
    assert 80 <= summary.rate <= 105


def test_the_rate_counts_changes_not_events():
    summary = run(
        None, rate=60, duration=0.5, routine={"triple": (writes(changes=3), 1)}, **NO_HOSPITAL
    )

    assert 27 <= summary.changes <= 33 and summary.events == summary.changes // 3


def test_slow_writes_give_the_achieved_rate_without_catching_up_in_bursts():
    summary = run(
        None, rate=1000, duration=0.5, routine={"slow": (writes(seconds=0.02), 1)}, **NO_HOSPITAL
    )

    assert 10 <= summary.changes <= 26  # about 1 / 0.02 s a second, not 1000
    assert summary.rate < 60


def test_a_run_opens_with_one_event_of_each_kind():
    calls = {kind: [] for kind in "abcdefgh"}
    routine = {kind: (writes(calls=calls[kind]), 1000 if kind == "a" else 0.001) for kind in "abcd"}
    hospital = {kind: writes(calls=calls[kind]) for kind in "efgh"}
    never = {kind: (lambda census, hour: 0.0) for kind in "efg"}

    summary = run(
        None,
        rate=1000,
        duration=0.05,
        routine=routine,
        hospital=hospital,
        rates=never,
        clocked={"h": 3600.0},
    )

    assert all(len(made) == 1 for kind, made in calls.items() if kind in "efgh")
    assert all(len(made) >= 1 for made in calls.values())
    assert summary.by_kind["a"] > summary.changes - 10


def test_hospital_events_come_when_due_and_count_towards_the_rate():
    start = dt.datetime(2025, 3, 12, 0, 0, tzinfo=dt.UTC)

    def writes_at_once(changes: int):
        return lambda db, rng, now: changes

    hospital = {"rounds": writes_at_once(10), "arrival": writes_at_once(1)}
    rates = {"arrival": lambda census, hour: 6.0 if hour < 12 else 0.0}  # six an hour, mornings

    summary = run(
        None,
        rate=1,
        duration=24 * 3600,
        seed=5,
        clock=SimulatedClock(start),
        routine={"note": (writes_at_once(1), 1)},
        hospital=hospital,
        rates=rates,
        clocked={"rounds": 4 * 3600},  # every four hours
    )

    # The opening's one, then at 00:00, 04:00, ... 20:00.
    assert summary.by_kind["rounds"] == 7 * 10
    assert 72 - 30 <= summary.by_kind["arrival"] - 1 <= 72 + 30  # a Poisson count, 72 expected
    assert summary.changes == pytest.approx(24 * 3600, abs=15)  # the routine fills the rest
    assert summary.seconds == 24 * 3600


def test_setting_stop_ends_the_run_promptly():
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    summary = run(None, rate=5, stop=stop, routine={"tick": (writes(), 1)}, **NO_HOSPITAL)

    assert time.monotonic() - started < 0.5 and 1 <= summary.changes <= 3


def test_a_line_is_reported_for_each_stretch():
    lines = []

    summary = run(
        None,
        rate=50,
        duration=0.65,
        report_every=0.2,
        report=lines.append,
        routine={"tick": (writes(), 1)},
        **NO_HOSPITAL,
    )

    assert 2 <= len(lines) <= 3  # at 0.2, 0.4 and 0.6 s, unless the machine is very busy
    assert all(stretch.seconds >= 0.2 and stretch.changes for stretch in lines)
    assert sum(stretch.changes for stretch in lines) < summary.changes
    assert lines[0].line().startswith(f"{lines[0].changes} changes in 0.2 s")
    assert "tick" in lines[0].line() and "/s" in summary.line()


def test_store_errors_are_counted_and_survived(monkeypatch):
    monkeypatch.setattr(runner, "ERROR_PAUSE", 0.01)
    failures = iter([True, True])

    def flaky(db, rng, now):
        if next(failures, False):
            raise AutoReconnect("store restarting")
        return 1

    summary = run(None, rate=200, duration=0.2, routine={"flaky": (flaky, 1)}, **NO_HOSPITAL)

    assert summary.errors == 2 and summary.changes >= 20
    assert "2 errors" in summary.line()


def test_the_rate_must_be_positive():
    with pytest.raises(ValueError):
        run(None, rate=0, duration=1)
