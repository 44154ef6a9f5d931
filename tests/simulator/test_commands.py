"""seed_demo and simulate from the command line's point of view."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from metrics import store

from .conftest import SMALL
from .contract import beds_out_of_place, stored, violations

ROOT = Path(__file__).resolve().parents[2]
AT = "2025-03-12T10:30:00-04:00"


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_seeds_and_prints_counts_per_collection(hospital_db):
    output = run("seed_demo", "--patients", "300", "--seed", "4")

    assert re.search(
        r"departments 8, rooms 134, staff 154, patients 300, appointments \d+, "
        r"bills \d+, workflows 30\d",
        output,
    )
    assert hospital_db.patients.count_documents({}) == 300


def test_seed_demo_keeps_an_existing_hospital_or_replaces_it_on_request(hospital_db):
    run("seed_demo", "--patients", "100")

    assert "already has 100 patients: nothing seeded" in run("seed_demo", "--if-empty")
    with pytest.raises(CommandError, match="--reset"):
        run("seed_demo")
    run("seed_demo", "--patients", "120", "--reset")
    assert hospital_db.patients.count_documents({}) == 120


def test_seed_demo_with_a_seed_and_a_moment_is_reproducible(settings, tmp_path):
    contents = []
    for name in ("first", "second"):
        settings.EMBEDDED_STORE_PATH = str(tmp_path / f"{name}.sqlite3")
        store.reset_client()
        run("seed_demo", "--patients", "200", "--seed", "9", "--now", AT)
        contents.append(stored(store.get_database()))
    assert contents[0] == contents[1]


@pytest.mark.parametrize(
    "args",
    [
        ["--if-empty", "--reset"],
        ["--patients", "-1"],
        ["--now", "yesterday"],
        ["--now", "2025-03-12T10:30:00"],
    ],
)
def test_seed_demo_refuses_bad_options(hospital_db, args):
    with pytest.raises(CommandError):
        run("seed_demo", *args)


def test_simulate_writes_at_the_rate_and_a_stream_sees_every_kind_of_write(hospital_db):
    run("seed_demo", "--patients", str(SMALL), "--seed", "2")
    stream = hospital_db.watch(max_await_time_ms=50)

    output = run("simulate", "--duration", "2", "--rate", "50", "--seed", "3")

    seen = []
    while (change := stream.try_next()) is not None:
        seen.append(change["operationType"])
    assert len(seen) >= 40
    assert {"insert", "update", "replace", "delete"} <= set(seen)
    reported = int(re.search(r"simulated (\d+) changes in [\d.]+ s \([\d.]+/s\)", output)[1])
    assert reported == len(seen)
    everything = stored(hospital_db)
    assert violations(everything, now=dt.datetime.now(dt.UTC)) == []
    assert beds_out_of_place(everything) == []


@pytest.mark.parametrize("args", [["--rate", "0"], ["--duration", "-1"]])
def test_simulate_refuses_bad_options(args):
    with pytest.raises(CommandError):
        run("simulate", *args)


def test_sigterm_stops_simulate_cleanly_with_a_summary(hospital_store):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MONGODB_", "DJANGO_SETTINGS"))
    }
    env.update(EMBEDDED_STORE_PATH=hospital_store, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulate", "--rate", "20"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "simulating" in process.stdout.readline()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert re.search(r"simulated \d+ changes", out)
