"""Several processes writing one trail: two writers at once still make one verifiable chain, and
a command's entries are written before it exits. On SQLite, or on PostgreSQL in its pass."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.servers import ROOT, database_rows, manage, server_env

pytestmark = [pytest.mark.slow, pytest.mark.database]

WRITER = """
import django, pathlib, sys, time
django.setup()
from audit import chain
from audit.entries import Actor, entry
name, meeting = sys.argv[1], pathlib.Path(sys.argv[3])
(meeting / name).touch()
while len(list(meeting.iterdir())) < 2:  # both start together, once both are set up
    time.sleep(0.01)
for batch in range(int(sys.argv[2])):
    chain.append([entry("signin", "success", Actor(username=f"{name}-{batch}-{n}")) for n in range(5)])
    time.sleep(0.01)  # as a writer between batches
"""


@pytest.fixture
def database(tmp_path, server_database_url):
    env = server_env(tmp_path, str(tmp_path / "store.sqlite3"), database_url=server_database_url)
    env["DJANGO_SETTINGS_MODULE"] = "dashboard_project.settings"
    manage("migrate", "--noinput", env=env)
    return env, server_database_url


def test_two_writers_at_once_make_one_chain(database, tmp_path):
    env, url = database
    batches = 40
    meeting = tmp_path / "ready"
    meeting.mkdir()
    start = str(meeting)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name, str(batches), start],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for process in writers:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors

    rows = database_rows(url, "SELECT seq, username FROM audit_auditentry ORDER BY seq")
    assert [seq for seq, _ in rows] == list(range(1, 2 * batches * 5 + 1))
    writers_in_order = [username[0] for _, username in rows]
    switches = sum(
        1 for x, y in zip(writers_in_order, writers_in_order[1:], strict=False) if x != y
    )
    print(f"the two writers took turns {switches} times")
    assert switches >= 5
    # A batch stays in one piece: its five entries are consecutive.
    for start in range(0, len(rows), 5):
        assert len({username.rsplit("-", 1)[0] for _, username in rows[start : start + 5]}) == 1
    assert f"{2 * batches * 5} entries" in manage("verify_audit", env=env)


def test_a_command_s_entries_are_written_before_it_exits(database):
    env, url = database
    manage("create_demo_users", env=env)
    manage("create_dashboard_user", "ada", "--level", "admin", "--departments", "ER", env=env)
    manage("create_dashboard_user", "ada", "--level", "viewer", "--departments", "ER,CARD", env=env)

    rows = database_rows(
        url, "SELECT event, channel, address, detail FROM audit_auditentry ORDER BY seq"
    )
    mine = [
        (event, channel, address, json.loads(d) if isinstance(d, str) else d)
        for event, channel, address, d in rows
    ]
    ada = [item for item in mine if item[3].get("user") == "ada"]
    assert [(e, c, a) for e, c, a, _ in ada] == [
        ("user_created", "command", "local"),
        ("user_updated", "command", "local"),
    ]
    assert ada[0][3]["new"] == {"level": "admin", "departments": ["ER"], "active": True}
    assert ada[1][3]["changes"] == {
        "level": ["admin", "viewer"],
        "departments": [["ER"], ["CARD", "ER"]],
    }
    assert ada[1][3]["via"] == "create_dashboard_user"
    assert "audit chain intact" in manage("verify_audit", env=env)
