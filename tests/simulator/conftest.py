"""A fixed moment and small seeded hospitals for the simulator's tests."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from simulator.seed import seed_hospital

# A Wednesday morning in a hospital whose day is not UTC's: office hours are on.
HOSPITAL_TZ = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2025, 3, 12, 10, 30, tzinfo=HOSPITAL_TZ)
SMALL = 400  # patients: enough for every kind of event, seeded in a fraction of a second


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def small_hospital(hospital_db, now):
    """The demo hospital with SMALL patients, seeded at NOW (seed 11)."""
    seed_hospital(hospital_db, seed=11, patients=SMALL, now=now)
    return hospital_db
