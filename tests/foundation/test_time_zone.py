"""The hospital's day: TIME_ZONE when set, else the machine's zone, else the hour the demo is
asked to show (DASHBOARD_DEMO_AT), in the settings a real process reads."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard_project.time_zone import zone_at_hour

ROOT = Path(__file__).resolve().parents[2]


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without any zone setting, then `variables`."""
    env = {k: v for k, v in os.environ.items() if k not in ("TIME_ZONE", "TZ", "DASHBOARD_DEMO_AT")}
    env.update(variables)
    return env


def settings_time_zone(**variables: str) -> tuple[str, str]:
    """(settings.TIME_ZONE, the local time HH:MM) in a fresh process with these variables."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dashboard_project.settings';"
        "django.setup(); from django.conf import settings; from django.utils import timezone;"
        "print(settings.TIME_ZONE, timezone.localtime().strftime('%H:%M'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment(**variables),
        capture_output=True,
        text=True,
        check=True,
    )
    zone, clock = out.stdout.split()
    return zone, clock


def test_the_machines_zone_is_the_hospitals_when_time_zone_is_not_set():
    zone, clock = settings_time_zone(TZ="Asia/Tokyo")
    assert zone == "Asia/Tokyo"
    assert clock == dt.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M")


def test_time_zone_wins_over_the_machines_and_the_demo_hour():
    zone, _ = settings_time_zone(
        TZ="Asia/Tokyo", TIME_ZONE="Europe/Paris", DASHBOARD_DEMO_AT="03:00"
    )
    assert zone == "Europe/Paris"


@pytest.mark.parametrize("at", ["03:00", "14:30", "22:00"])
def test_the_demo_hour_puts_the_local_clock_at_that_hour(at):
    before = dt.datetime.now(dt.UTC)
    zone, clock = settings_time_zone(TZ="Asia/Tokyo", DASHBOARD_DEMO_AT=at)
    assert zone.startswith("Etc/")
    # The hour is the one asked for (the minutes are the machine's), unless the hour turned
    # while the process started.
    assert int(clock[:2]) == int(at[:2]) or dt.datetime.now(dt.UTC).hour != before.hour


def chosen_zone(cwd: Path = ROOT, **variables: str) -> str:
    """What `python -m dashboard_project.time_zone` prints (the zone `make run` passes on)."""
    out = subprocess.run(
        [sys.executable, "-m", "dashboard_project.time_zone"],
        cwd=cwd,
        env=environment(**variables),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_the_zone_printed_for_make_run_is_the_one_the_settings_choose(tmp_path):
    before = dt.datetime.now(dt.UTC)
    printed = chosen_zone(tmp_path, TZ="Asia/Tokyo", DASHBOARD_DEMO_AT="03:00")
    zone, clock = settings_time_zone(TZ="Asia/Tokyo", DASHBOARD_DEMO_AT="03:00")
    if dt.datetime.now(dt.UTC).hour == before.hour:  # else the hour turned between the two
        assert printed == zone and clock[:2] == "03"
    assert chosen_zone(tmp_path, TZ="Asia/Tokyo") == "Asia/Tokyo"
    assert chosen_zone(tmp_path, TIME_ZONE="Europe/Paris", DASHBOARD_DEMO_AT="03:00") == (
        "Europe/Paris"
    )


def test_a_zone_chosen_once_holds_after_the_hour_turns():
    """`make run` passes the chosen zone as TIME_ZONE, so a process started in the next hour
    (the server after the seed) keeps the seed's zone instead of choosing again."""
    before = dt.datetime.now(dt.UTC)
    chosen = zone_at_hour("03:00", before - dt.timedelta(hours=1))
    zone, clock = settings_time_zone(TIME_ZONE=chosen, DASHBOARD_DEMO_AT="03:00")
    assert zone == chosen
    if dt.datetime.now(dt.UTC).hour == before.hour:
        assert clock[:2] == "04"


def test_every_hour_is_reachable_from_every_utc_hour():
    day = dt.datetime(2026, 3, 29, tzinfo=dt.UTC)
    for utc_hour in range(24):
        now = day + dt.timedelta(hours=utc_hour, minutes=17)
        for hour in range(24):
            zone = zoneinfo.ZoneInfo(zone_at_hour(f"{hour:02d}:00", now))
            assert now.astimezone(zone).hour == hour, (utc_hour, hour, zone)


@pytest.mark.parametrize("at", ["3", "24:00", "07:60", "noon", ""])
def test_a_demo_hour_that_is_not_hh_mm_is_refused_clearly(at):
    with pytest.raises(ImproperlyConfigured, match="DASHBOARD_DEMO_AT must be HH:MM"):
        zone_at_hour(at)
