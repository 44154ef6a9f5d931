"""The hash chain: it verifies; an edited, a deleted and an inserted entry are each named as the
first broken link; after a purge of the oldest entries the rest verifies again; nothing in the
application edits or deletes an entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import chain
from audit.models import AppendOnly, AuditChain, AuditEntry
from tests.audit.conftest import content

pytestmark = pytest.mark.django_db


def execute(sql: str, *params) -> None:
    """What someone with the database's password could do, past the application."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_fresh_chain_and_a_written_one_verify(written):
    assert chain.verify().ok
    entries = written(5)

    verdict = chain.verify()

    assert verdict.ok and verdict.checked == 5
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous_hash == chain.GENESIS
    assert all(b.previous_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    head = AuditChain.objects.get()
    assert (head.last_seq, head.last_hash) == (5, entries[-1].hash)


def test_an_edited_entry_is_the_first_broken_link(written):
    written(6)
    execute("UPDATE audit_auditentry SET username = 'someone-else' WHERE seq = 3")

    verdict = chain.verify()

    assert (verdict.broken_seq, verdict.checked) == (3, 2)
    assert "edited" in verdict.reason


def test_an_edited_detail_or_time_is_caught_too(written):
    written(4)
    execute(
        "UPDATE audit_auditentry SET time = %s WHERE seq = 2",
        dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    assert chain.verify().broken_seq == 2


def test_a_deleted_entry_is_named(written):
    written(6)
    execute("DELETE FROM audit_auditentry WHERE seq = 4")

    verdict = chain.verify()

    assert verdict.broken_seq == 4 and "deleted" in verdict.reason


def test_deleted_last_entries_are_named(written):
    written(6)
    execute("DELETE FROM audit_auditentry WHERE seq >= 5")

    verdict = chain.verify()

    assert verdict.broken_seq == 5 and "deleted" in verdict.reason


def _forge(seq: int, previous_hash: str, when: dt.datetime) -> None:
    """An entry whose hash is computed as the writer would, written past the writer."""
    forged = content(99, when)
    forged["username"] = "forged"
    digest = chain.entry_hash(previous_hash, seq, forged)
    execute(
        "INSERT INTO audit_auditentry (seq, time, event, action, outcome, user_id, username, "
        "level, departments, address, user_agent, channel, detail, previous_hash, hash) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        seq,
        forged["time"],
        forged["event"],
        forged["action"],
        forged["outcome"],
        forged["user_id"],
        forged["username"],
        forged["level"],
        forged["departments"],
        forged["address"],
        forged["user_agent"],
        forged["channel"],
        json.dumps(forged["detail"]),
        previous_hash,
        digest,
    )


def test_an_entry_inserted_in_the_middle_is_named(written):
    entries = written(6)
    # Room for it: every later entry moved one place on, then the forged one linked to #3.
    execute("UPDATE audit_auditentry SET seq = seq + 100 WHERE seq > 3")
    execute("UPDATE audit_auditentry SET seq = seq - 99 WHERE seq > 100")
    _forge(4, entries[2].hash, entries[2].time)

    verdict = chain.verify()

    # The forged entry links to #3 as the writer would have, but the next one does not link to it.
    assert verdict.broken_seq == 5 and "inserted" in verdict.reason


def test_an_entry_appended_past_the_head_is_named(written):
    entries = written(3)
    _forge(4, entries[-1].hash, entries[-1].time)

    verdict = chain.verify()

    assert verdict.broken_seq == 4 and "inserted" in verdict.reason


def test_an_entry_inserted_before_the_first_is_named(written):
    entries = written(3)
    AuditChain.objects.filter(pk=1).update(anchor_seq=2, anchor_hash=entries[0].hash)
    execute("DELETE FROM audit_auditentry WHERE seq = 1")  # as a purge would have
    assert chain.verify().ok
    _forge(1, chain.GENESIS, entries[0].time)

    verdict = chain.verify()

    assert verdict.broken_seq == 1 and "inserted" in verdict.reason


def test_verify_audit_reports_the_first_broken_link_and_fails(written, capsys):
    written(3)
    call_command("verify_audit")
    assert "audit chain intact: 3 entries, #1 to #3" in capsys.readouterr().out

    execute("UPDATE audit_auditentry SET outcome = 'success' WHERE seq = 2")
    with pytest.raises(CommandError, match=r"broken at entry #2: .*edited"):
        call_command("verify_audit")


def test_purge_keeps_the_rest_verifiable(written, capsys, settings):
    now = dt.datetime.now(dt.UTC)
    written(4, now - dt.timedelta(days=400))
    kept = written(3, now - dt.timedelta(days=10))
    settings.DASHBOARD_AUDIT_RETENTION_DAYS = 365

    call_command("purge_audit")

    assert "4 audit entries older than" in capsys.readouterr().out
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == [5, 6, 7, 8]
    purge = AuditEntry.objects.get(seq=8)
    assert (purge.event, purge.action, purge.detail["removed"]) == ("audit_purged", "D", 4)
    head = AuditChain.objects.get()
    assert (head.anchor_seq, head.anchor_hash) == (5, kept[0].previous_hash)
    call_command("verify_audit")
    assert chain.verify().checked == 4


def test_purge_after_tampering_fixes_nothing_and_removes_nothing(written):
    written(4, dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
    execute("UPDATE audit_auditentry SET username = 'x' WHERE seq = 2")

    with pytest.raises(CommandError, match="nothing purged"):
        call_command("purge_audit", days=1)

    assert AuditEntry.objects.count() == 4


def test_a_purge_of_everything_still_verifies(written):
    written(3, dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    chain.purge(dt.datetime.now(dt.UTC))
    assert AuditEntry.objects.count() == 0 and chain.verify().ok
    written(2)
    assert chain.verify().ok and chain.verify().checked == 2


def test_the_application_cannot_edit_or_delete_entries(written):
    [entry] = written(1)
    entry.username = "changed"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(seq=1).update(username="changed")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().username == "user-0" and chain.verify().ok


def test_the_hash_is_sha256_over_the_previous_hash_and_the_canonical_content(written):
    [entry] = written(1)
    text = chain.GENESIS + "\n" + chain.canonical(1, chain.content_of(entry))
    assert entry.hash == hashlib.sha256(text.encode()).hexdigest()
    assert '"seq":1' in text and '"time":"' in text
