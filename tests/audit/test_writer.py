"""The queue between the application and the table: never waits, writes in batches, counts and
reports what it had to drop, logs each entry as a JSON line; read tallies."""

from __future__ import annotations

import json
import logging
import time

import pytest
from prometheus_client import REGISTRY

from audit import chain, events
from audit.entries import Actor, Where, entry
from audit.models import AuditEntry
from audit.writer import AuditWriter

pytestmark = pytest.mark.django_db


def dropped_total() -> float:
    return REGISTRY.get_sample_value("dashboard_audit_dropped_total") or 0.0


def test_recorded_events_are_written_in_one_batch_and_logged_as_json_lines(audit_queue, caplog):
    for number in range(3):
        events.record("signin", "failure", Actor(username=f"u{number}"), Where("192.0.2.1"))
    assert AuditEntry.objects.count() == 0  # nothing written on the caller's path

    with caplog.at_level(logging.INFO, logger="dashboard.audit"):
        assert audit_queue.drain() == 3

    assert list(AuditEntry.objects.order_by("seq").values_list("username", flat=True)) == [
        "u0",
        "u1",
        "u2",
    ]
    lines = [r.getMessage() for r in caplog.records if r.name == "dashboard.audit"]
    logged = [json.loads(line) for line in lines]
    assert [e["username"] for e in logged] == ["u0", "u1", "u2"]
    assert logged[0]["seq"] == 1 and logged[0]["action"] == "E" and len(logged[0]["hash"]) == 64
    assert logged[0]["time"].endswith("Z")
    assert chain.verify().ok


def test_a_full_queue_drops_counts_logs_and_degrades_health(audit_queue, settings, client, caplog):
    settings.DASHBOARD_AUDIT_QUEUE_SIZE = 5
    audit_queue.discard()
    audit_queue._queue = None  # a queue of the new size
    before = dropped_total()

    with caplog.at_level(logging.WARNING, logger="dashboard.audit.writer"):
        for number in range(8):
            events.record("signin", "failure", Actor(username=f"u{number}"))

    assert dropped_total() - before == 3
    assert audit_queue.dropped == 3
    assert "audit queue full (5 entries): 1 audit entries dropped" in caplog.text
    health = client.get("/health/").json()
    assert health["status"] == "degraded"
    assert health["checks"]["audit"]["ok"] is False
    assert "3 audit entries dropped" in health["checks"]["audit"]["error"]
    assert audit_queue.drain() == 5
    assert AuditEntry.objects.count() == 5


def test_health_is_ok_again_after_the_window(audit_queue, settings, client):
    settings.DASHBOARD_AUDIT_DEGRADED_SECONDS = 0.2
    audit_queue.last_drop, audit_queue.dropped = time.monotonic(), 1
    assert client.get("/health/").json()["checks"]["audit"]["ok"] is False
    time.sleep(0.3)
    check = client.get("/health/").json()["checks"]["audit"]
    assert check["ok"] is True and check["dropped"] == 1


def test_reads_are_one_entry_per_session_and_metric(audit_queue):
    who, where = Actor(user_id=7, username="ada", departments="CARD,ER"), Where("192.0.2.7")
    for _ in range(4):
        events.count_read("s1", "subscription", "patientCount", who, where)
    events.count_read("s1", "snapshot", "patientCount", who, where)
    events.count_read("s2", "subscription", "patientCount", who, where)
    events.end_session("s1")
    assert audit_queue.drain() == 3  # s1's two tallies (at its end), then s2's still open

    rows = {
        (e.detail["session"], e.detail["kind"]): e for e in AuditEntry.objects.filter(event="read")
    }
    assert set(rows) == {("s1", "subscription"), ("s1", "snapshot"), ("s2", "subscription")}
    subscription = rows[("s1", "subscription")]
    assert subscription.detail["count"] == 4 and subscription.action == "R"
    assert subscription.departments == "CARD,ER" and subscription.address == "192.0.2.7"
    assert subscription.detail["first"] <= subscription.detail["last"]


def test_nothing_is_recorded_with_the_audit_off(audit_queue, settings):
    settings.DASHBOARD_AUDIT_ENABLED = False
    events.record("signin", "failure", Actor(username="x"))
    events.count_read("s", "snapshot", "patientCount", Actor(), Where())
    assert audit_queue.drain() == 0


@pytest.mark.django_db(transaction=True)
def test_the_thread_writes_batches_and_flush_waits_for_them(settings):
    settings.DASHBOARD_AUDIT_BATCH_SIZE = 10
    settings.DASHBOARD_AUDIT_FLUSH_SECONDS = 0.05
    writer = AuditWriter()
    try:
        for number in range(25):
            writer.submit(entry("signin", "success", Actor(username=f"t{number}")))
        assert writer.flush(10)
        assert AuditEntry.objects.count() == 25
        assert chain.verify().ok
    finally:
        writer.close()
    assert writer._thread is not None and not writer._thread.is_alive()


def test_a_display_is_its_own_kind_of_principal_on_the_trail():
    from accounts.policy import DISPLAY, Access
    from audit.entries import actor_of

    display = Access(7, "display.1f2e", "viewer", frozenset({"ER"}), kind=DISPLAY)
    person = Access(8, "nurse", "viewer", frozenset({"ER"}))
    assert (actor_of(display).level, actor_of(display).departments) == ("display", "ER")
    assert actor_of(person).level == "viewer"
