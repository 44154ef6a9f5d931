"""The cache against the real local Redis: L2 shared between processes, pattern invalidation."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings

from metrics import cache, selectors
from metrics.scope import Scope
from metrics.selectors import get_historical, get_live_value, refresh_live_value

from .conftest import admit, viewer


@pytest.fixture
def redis_cache(redis_url, unique_prefix):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": unique_prefix,
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
    client = redis.Redis.from_url(redis_url)
    with override_settings(CACHES=caches):
        yield client, unique_prefix
    for key in client.scan_iter(match=f"{unique_prefix}:*"):
        client.delete(key)
    client.close()


def keys(client, prefix) -> set[str]:
    return {key.decode().split(":", 2)[2] for key in client.scan_iter(match=f"{prefix}:*")}


@pytest.mark.redis
def test_values_are_shared_through_redis_and_invalidated_by_pattern(
    hospital_db, redis_cache, monkeypatch
):
    client, prefix = redis_cache
    admit(hospital_db, "ER", 2)
    computed = []
    real = selectors.compute_base
    monkeypatch.setattr(
        selectors,
        "compute_base",
        lambda metric, *, now=None: computed.append(metric) or real(metric, now=now),
    )

    # An entry left by an older release (key version 1), versioned by a process's clock: it
    # would shadow every value versioned by database positions, and is never read.
    old = {"metric": "patientCount", "data": {"departments": {"ER": 99}, "unassigned": None}}
    caches["default"].set_many(
        {
            "metric:patientCount:all": {
                **old,
                "version": 1_800_000_000_000_000_000,
                "updated_at": dt.datetime.now(dt.UTC),
                "expires_at": time.time() + 60,
            },
            "version:metric:patientCount:all": (1_800_000_000_000_000_000, time.time() + 60),
        },
        60,
        version=1,
    )

    first = get_live_value("patientCount", Scope.all())
    assert first.data["total"] == 2
    get_live_value("staffActivity", Scope.all())
    day = dt.datetime(2026, 3, 8, tzinfo=dt.UTC), dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
    get_historical(viewer(), *day)
    assert caches["default"].get("metric:patientCount:all", version=1)["data"] == old["data"]
    client.delete(
        f"{prefix}:1:metric:patientCount:all", f"{prefix}:1:version:metric:patientCount:all"
    )
    assert keys(client, prefix) == {
        "metric:patientCount:all",
        "lastknown:metric:patientCount:all",
        "metric:staffActivity:all",
        "lastknown:metric:staffActivity:all",
        "metric:historical:all:20260308T000000Z:20260309T000000Z",
        "throttle_historical_1",  # the range was computed: it counts against the user's budget
        # Each value's companion (version, expiry), read before a write instead of the value.
        "version:metric:patientCount:all",
        "version:lastknown:metric:patientCount:all",
        "version:metric:staffActivity:all",
        "version:lastknown:metric:staffActivity:all",
        "version:metric:historical:all:20260308T000000Z:20260309T000000Z",
    }
    assert 0 < client.ttl(f"{prefix}:2:version:metric:patientCount:all") <= 5
    assert 0 < client.ttl(f"{prefix}:2:metric:patientCount:all") <= 5
    assert client.ttl(f"{prefix}:2:lastknown:metric:patientCount:all") == -1  # no expiry

    cache.clear_local()  # as another server process would: L1 empty, L2 in Redis
    admit(hospital_db, "ER")
    again = get_live_value("patientCount", Scope.of(["ER"]))
    assert (again.version, again.data["total"]) == (first.version, 2)
    assert computed == ["patientCount", "staffActivity"]

    assert cache.invalidate_pattern("metric:*:all") == 2
    assert keys(client, prefix) == {
        "lastknown:metric:patientCount:all",
        "lastknown:metric:staffActivity:all",
        "metric:historical:all:20260308T000000Z:20260309T000000Z",
        "throttle_historical_1",
        "version:lastknown:metric:patientCount:all",
        "version:lastknown:metric:staffActivity:all",
        "version:metric:historical:all:20260308T000000Z:20260309T000000Z",
    }
    assert cache.invalidate("hourlyStats") == 1
    assert get_live_value("patientCount", Scope.all()).data["total"] == 3
    assert computed[-1] == "patientCount"


@pytest.mark.redis
def test_the_last_known_value_in_redis_survives_a_restart_of_this_process(hospital_db, redis_cache):
    admit(hospital_db, "CARD", 4)
    value, changed = refresh_live_value("patientCount")
    assert changed is True
    cache.clear_local()
    cache.invalidate("patientCount")
    hospital_db.client.set_unreachable(True)
    try:
        stale = get_live_value("patientCount", Scope.of(["CARD"]))
    finally:
        hospital_db.client.set_unreachable(False)
    assert (stale.stale, stale.version, stale.data["total"]) == (True, value.version, 4)
    cache.clear_local()
    assert refresh_live_value("patientCount")[1] is False  # compared with the copy in Redis
