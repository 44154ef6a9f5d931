"""The listener keeps the live metrics incrementally: what it flushes, verifies, corrects and logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

import dashboard_project.asgi  # noqa: F401  (its Django set-up resets the loggers: done first)
from metrics import store
from metrics.catalogue import LIVE_METRICS
from metrics.compute.documents import DayWindow
from runtime import telemetry

from .conftest import authenticated, receive_until
from .test_listener import CASES, expect_recount, patient

pytestmark = pytest.mark.django_db(transaction=True)


class Records(logging.Handler):
    """The listener's log records, caught on its own logger: Django's logging set-up (run again
    when the ASGI application is first imported) replaces the root logger's handlers, pytest's
    among them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def listener_log():
    logger = logging.getLogger("dashboard.listener")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def counted(counter, **labels) -> float:
    return counter.labels(**labels)._value.get()


async def eventually(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def fill(db) -> None:
    """A document in every watched collection."""
    for collection, (_, document, _, _) in CASES.items():
        db[collection].insert_one(dict(document))


async def test_a_verification_on_request_finds_every_metric_equal(listeners):
    db = store.get_database()
    fill(db)
    listener = await listeners(verify_interval=0)
    fill(db)
    db.patients.update_many({}, {"$set": {"departmentId": "CARD"}})
    before = {
        m: counted(telemetry.metric_verifications, metric=m, result="match") for m in LIVE_METRICS
    }
    drift = {m: counted(telemetry.metric_drift, metric=m) for m in LIVE_METRICS}
    listener.request_verification()
    await eventually(
        lambda: all(
            counted(telemetry.metric_verifications, metric=m, result="match") > before[m]
            for m in LIVE_METRICS
        )
    )
    assert {m: counted(telemetry.metric_drift, metric=m) for m in LIVE_METRICS} == drift


async def test_a_drifted_metric_is_found_logged_counted_and_corrected(
    make_user, listeners, listener_log
):
    db = store.get_database()
    listener = await listeners(verify_interval=0)
    user = await database_sync_to_async(make_user)("drift", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    db.patients.insert_many([patient() for _ in range(3)])
    await expect_recount(client, "patientCount")

    # Something the fold got wrong: the state counts two ER patients too many.
    listener.maintained.state.states["patientCount"].groups[("ER",)][0] += 2
    db.patients.insert_one(patient())
    wrong = await receive_until(client, lambda m: m["type"] == "dashboard_update")
    assert wrong["data"]["total"] == 6  # the recount says 4

    drift = counted(telemetry.metric_drift, metric="patientCount")
    listener.request_verification()
    corrected = await expect_recount(client, "patientCount")
    assert corrected["data"]["total"] == 4
    assert counted(telemetry.metric_drift, metric="patientCount") == drift + 1
    warning = [m for m in listener_log.messages(logging.WARNING) if "metric drift" in m]
    assert warning and "patientCount" in warning[0] and "departments.ER: 6 != 4" in warning[0]
    await client.disconnect()


async def test_a_change_that_moves_no_number_flushes_nothing(listeners):
    db = store.get_database()
    batches: list[dict] = []
    await listeners(on_batch=batches.append)
    patient_id = db.patients.insert_one(patient()).inserted_id
    await eventually(lambda: batches)
    batches.clear()
    db.patients.update_one({"_id": patient_id}, {"$set": {"name": "Renamed"}})
    db.rooms.insert_one({**CASES["rooms"][1], "isActive": False})
    await asyncio.sleep(0.6)
    assert batches == []
    db.patients.update_one({"_id": patient_id}, {"$set": {"departmentId": "CARD"}})
    await eventually(lambda: batches)
    assert batches[0]["recomputed"] == ["patientCount"]
    assert batches[0]["changes"] == 3  # the two that moved nothing are reported with it


async def test_the_day_metrics_roll_over_at_local_midnight(listeners, listener_log):
    db = store.get_database()
    batches: list[dict] = []
    listener = await listeners(on_batch=batches.append)
    db.appointments.insert_one(dict(CASES["appointments"][1]))
    await eventually(lambda: any("todayAppointments" in b["recomputed"] for b in batches))
    batches.clear()
    # As if the state had been built yesterday and midnight has just passed.
    state = listener.maintained.state
    state.window = DayWindow(state.window.zone, state.window.first - dt.timedelta(days=1))
    listener.maintained._next_day = time.time()
    await eventually(lambda: batches)
    assert sorted(batches[0]["recomputed"]) == ["dischargesToday", "revenue", "todayAppointments"]
    assert any("a new day" in m for m in listener_log.messages(logging.INFO))
    assert listener.maintained._next_day > time.time()


async def test_flushes_log_at_debug_and_a_summary_at_info(listeners, listener_log):
    db = store.get_database()
    batches: list[dict] = []
    listener = await listeners(on_batch=batches.append)
    listener.folding.summary.every = 0.5
    db.patients.insert_one(patient())
    await eventually(lambda: batches)
    await eventually(lambda: any("listener, last" in m for m in listener_log.messages()))
    lines = [r for r in listener_log.records if r.levelno >= logging.INFO]
    assert not any(r.getMessage().startswith("batch (") for r in lines)
    summary = next(r for r in lines if "listener, last" in r.getMessage())
    assert summary.levelno == logging.INFO
    assert "1 changes" in summary.getMessage() and "drift corrections" in summary.getMessage()


def test_watch_changes_verify_compares_a_fresh_state_with_the_recount(capsys):
    db = store.get_database()
    fill(db)
    call_command("watch_changes", verify=True, duration=30, metrics_port=0)
    out = capsys.readouterr().out
    assert [line.split(": ")[1] for line in out.splitlines()] == ["match"] * len(LIVE_METRICS)


async def test_a_metric_that_moves_with_time_is_rebuilt_and_broadcast_on_its_tick(listeners):
    db = store.get_database()
    registered = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    db.patients.insert_one(
        {
            "isActive": True,
            "departmentId": "ER",
            "status": "outpatient",
            "triageLevel": 3,
            "registeredAt": registered,
        }
    )
    batches: list[dict] = []
    listener = await listeners(on_batch=batches.append)
    await asyncio.sleep(1.2)  # the first ticks after the build have gone out
    batches.clear()
    before = listener.maintained.built.base("erWaiting", dt.datetime.now(dt.UTC))
    # No change at all: only the tick (every 15 s) makes it due.
    listener.maintained._ticks["erWaiting"] = 0.0
    await eventually(lambda: any("erWaiting" in b["broadcast"] for b in batches))
    tick = next(b for b in batches if "erWaiting" in b["broadcast"])
    assert tick["changes"] == 0 and tick["recomputed"] == ["erWaiting"]
    value = await database_sync_to_async(_cached_data)("erWaiting")
    assert value["total"] == 1 and value["longestWaitSeconds"] >= 20 * 60
    assert value["longestWaitSeconds"] >= project_wait(before)
    assert listener.maintained._ticks["erWaiting"] > time.monotonic() + 12  # the next in 15 s


def project_wait(base: dict) -> int:
    from metrics.compute import project
    from metrics.scope import Scope

    return project("erWaiting", base, Scope.all())["longestWaitSeconds"]


def _cached_data(metric: str) -> dict:
    from metrics.scope import Scope
    from metrics.selectors import get_live_value

    return get_live_value(metric, Scope.all()).data
