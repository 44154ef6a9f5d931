"""Reading the trail: Django admin (superusers only, read-only for them too, filterable) and
export_audit (JSON lines or CSV, by time)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audit import chain
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LIST = "/admin/audit/auditentry/"


@pytest.fixture
def superuser_client(client, db):
    boss = get_user_model().objects.create_user(
        "boss", password="x", is_staff=True, is_superuser=True
    )
    client.force_login(boss)
    return client


def test_superusers_read_and_filter_the_trail(superuser_client, written):
    written(4)

    page = superuser_client.get(LIST)
    failures = superuser_client.get(LIST, {"outcome__exact": "failure"})
    by_user = superuser_client.get(LIST, {"q": "user-2"})
    by_event = superuser_client.get(LIST, {"event__exact": "signin"})
    detail = superuser_client.get(f"{LIST}{AuditEntry.objects.get(seq=2).pk}/change/")

    assert page.status_code == 200
    assert [e.seq for e in failures.context["cl"].result_list] == [4, 2]
    assert [e.username for e in by_user.context["cl"].result_list] == ["user-2"]
    assert len(by_event.context["cl"].result_list) == 4
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content and b"deletelink" not in detail.content


def test_nobody_adds_changes_or_deletes_through_the_admin(superuser_client, written):
    [entry] = written(1)
    change = f"{LIST}{entry.pk}/change/"

    assert superuser_client.get(f"{LIST}add/").status_code == 403
    assert superuser_client.post(change, {"username": "edited"}).status_code == 403
    assert superuser_client.post(f"{LIST}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert superuser_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    ).status_code in (200, 302)

    assert AuditEntry.objects.get().username == "user-0" and chain.verify().ok


def test_staff_who_are_not_superusers_do_not_see_the_trail(client, written):
    written(1)
    staff = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(staff)

    assert client.get(LIST).status_code == 403
    assert b"Audit trail" not in client.get("/admin/").content


def test_export_as_json_lines_between_two_times(written, capsys):
    now = dt.datetime.now(dt.UTC)
    written(2, now - dt.timedelta(days=3))
    written(3, now - dt.timedelta(hours=1))

    call_command("export_audit", "--since", (now - dt.timedelta(days=1)).isoformat())

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["seq"] for line in lines] == [3, 4, 5]
    assert lines[0]["previousHash"] == AuditEntry.objects.get(seq=2).hash
    assert lines[0]["detail"] == {"reason": "invalid_credentials"}
    call_command("export_audit", "--until", (now - dt.timedelta(days=1)).date().isoformat())
    assert [json.loads(line)["seq"] for line in capsys.readouterr().out.splitlines()] == [1, 2]


def test_export_as_csv_to_a_file(written, tmp_path):
    written(2)
    target = tmp_path / "audit.csv"

    call_command("export_audit", "--format", "csv", "--output", str(target))

    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [row["seq"] for row in rows] == ["1", "2"]
    assert rows[1]["username"] == "user-1" and rows[1]["action"] == "E"
    assert json.loads(rows[0]["detail"]) == {"reason": "invalid_credentials"}
    assert rows[1]["previousHash"] == rows[0]["hash"]
