"""A management command that fails for a reason the user can act on says so in one line on
stderr and exits non-zero, never with a traceback: run as a user would, in a subprocess."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from tests.servers import ROOT, free_port, manage, server_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """The environment of a migrated SQLite database with the demo departments."""
    workdir = tmp_path_factory.mktemp("commands")
    env = server_env(workdir, str(workdir / "store.sqlite3"))
    manage("migrate", "--noinput", env=env)
    manage("create_demo_users", env=env)
    return env, workdir / "dashboard.sqlite3"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_failure(result: subprocess.CompletedProcess, exit_code: int = 1) -> str:
    """The command failed with `exit_code` and one line on stderr; that line."""
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unknown_department_is_named_with_the_known_ones(migrated):
    env, _ = migrated
    result = run(env, "create_dashboard_user", "ada", "--level", "admin", "--departments", "ER,XX")

    line = one_line_failure(result)
    assert line.startswith("CommandError: Unknown department code(s): XX. Known codes: ")
    assert "CARD" in line and "ER" in line


def test_an_unknown_level_lists_the_levels(migrated):
    env, _ = migrated
    line = one_line_failure(run(env, "create_dashboard_user", "ada", "--level", "boss"))
    assert line == ("CommandError: Unknown level 'boss': choose one of super_admin, admin, viewer.")


def test_a_missing_option_is_a_usage_error(migrated):
    env, _ = migrated
    result = run(env, "create_dashboard_user", "ada")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("error: the following arguments are required: --level")
    )


def test_a_locked_database_is_reported_after_the_busy_timeout(migrated):
    env, database = migrated
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        result = run(
            {**env, "DATABASE_URL": f"sqlite:///{database}?timeout=1"},
            "create_dashboard_user",
            "ada",
            "--level",
            "viewer",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    line = one_line_failure(result)
    assert line.startswith(f"CommandError: Django's database (SQLite {database}) stayed locked")
    assert "try again" in line


def test_an_unreachable_database_is_named(tmp_path):
    port = free_port()  # nothing listens there
    env = server_env(tmp_path, str(tmp_path / "store.sqlite3"))
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{port}/dashboard"

    line = one_line_failure(run(env, "create_dashboard_user", "ada", "--level", "viewer"))
    assert line.startswith(
        f"CommandError: Django's database (PostgreSQL 127.0.0.1:{port}/dashboard) failed: "
    )
    assert "Connection refused" in line


@pytest.mark.database
@pytest.mark.parametrize("command", ["create_dashboard_user", "create_demo_users"])
def test_a_database_without_tables_asks_for_migrate(tmp_path, server_database_url, command):
    env = server_env(tmp_path, str(tmp_path / "store.sqlite3"), database_url=server_database_url)
    args = ("ada", "--level", "viewer") if command == "create_dashboard_user" else ()

    line = one_line_failure(run(env, command, *args))
    assert "has no tables yet: run `python manage.py migrate` first" in line


@pytest.mark.parametrize(
    "args", [("seed_demo", "--patients", "10"), ("simulate", "--duration", "2")]
)
def test_an_unreachable_mongodb_is_one_line(tmp_path, args):
    env = server_env(tmp_path, str(tmp_path / "store.sqlite3"))
    env.update({"MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}/", "MONGODB_TIMEOUT_MS": "300"})

    line = one_line_failure(run(env, *args))
    assert line.startswith("CommandError: MongoDB (MONGODB_URI) is unreachable")
    assert "Connection refused" in line
