import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from live import liveness

ROOT = Path(__file__).resolve().parents[2]


def _django_check(env_overrides: dict[str, str], *options: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "MONGODB_"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_the_documented_production_settings():
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "k3V9-" + "x7Qp2" * 10,
        "DJANGO_ALLOWED_HOSTS": "dashboard.example.org",
        "DASHBOARD_TRUSTED_PROXIES": "127.0.0.1",
    }
    result = _django_check(production, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_warns_when_https_is_turned_off():
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "k3V9-" + "x7Qp2" * 10,
        "DASHBOARD_HTTPS": "false",
    }
    result = _django_check(production, "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def test_refuses_to_start_with_demo_secret_when_debug_is_off():
    result = _django_check({"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_the_proxy_count_is_refused_for_the_trusted_proxies_it_gave_way_to():
    result = _django_check({"DASHBOARD_NUM_PROXIES": "1"})
    assert result.returncode != 0
    assert "DASHBOARD_NUM_PROXIES is replaced by DASHBOARD_TRUSTED_PROXIES" in result.stderr
    assert _django_check({"DASHBOARD_NUM_PROXIES": "0"}).returncode == 0


def test_trusted_proxies_are_addresses_or_networks():
    good = _django_check({"DASHBOARD_TRUSTED_PROXIES": "10.0.0.5, 172.16.0.0/12,::1"})
    assert good.returncode == 0, good.stderr
    bad = _django_check({"DASHBOARD_TRUSTED_PROXIES": "10.0.0.5,nginx"})
    assert bad.returncode != 0
    assert "DASHBOARD_TRUSTED_PROXIES: 'nginx'" in bad.stderr


def test_starts_with_a_real_secret_when_debug_is_off():
    result = _django_check({"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr


def test_embedded_defaults_without_any_variable():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dashboard_project.settings';"
        "django.setup(); from django.conf import settings as s;"
        "print(s.CHANNEL_LAYERS['default']['BACKEND']); print(s.CACHES['default']['BACKEND']);"
        "print(s.DATABASES['default']['ENGINE']); print(s.MONGODB_URI)"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "MONGODB_", "DATABASE_"))
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.db.backends.sqlite3",
        "None",
    ]


def test_redis_url_switches_channel_layer_and_cache():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='dashboard_project.settings';"
        "django.setup(); from django.conf import settings as s;"
        "print(s.CHANNEL_LAYERS['default']['BACKEND']); print(s.CACHES['default']['BACKEND'])"
    )
    env = dict(os.environ, REDIS_URL="redis://127.0.0.1:6379/0")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "django.core.cache.backends.redis.RedisCache",
    ]


@pytest.fixture
def listener_heard(monkeypatch):
    """A listener in this process that has just read its stream (embedded mode: no Redis)."""
    monkeypatch.setattr(liveness, "watch", liveness.ListenerWatch())
    monkeypatch.setattr(liveness.local, "read_at", time.time())


@pytest.mark.django_db
def test_health_reports_every_check(client, listener_heard):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "redis",
        "mongodb",
        "channelLayer",
        "listener",
        "memory",
        "audit",
    }
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["latencyMs"] >= 0


@pytest.mark.django_db
def test_health_degraded_when_no_listener_heartbeat_is_fresh(client, settings, monkeypatch):
    settings.DASHBOARD_LISTENER_STALE_SECONDS = 5
    monkeypatch.setattr(liveness, "watch", liveness.ListenerWatch())
    monkeypatch.setattr(liveness.local, "read_at", time.time() - 6)
    body = client.get("/health/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["listener"]["ok"] is False
    assert "last heartbeat 6" in body["checks"]["listener"]["error"]
    liveness.local.heard(time.time())
    body = client.get("/health/").json()
    assert body["status"] == "ok" and body["checks"]["listener"]["heartbeatAgeSeconds"] < 5


@pytest.mark.django_db
def test_health_degraded_when_mongodb_is_unreachable(client, hospital_db, listener_heard):
    hospital_db.client.set_unreachable(True)
    try:
        body = client.get("/health/").json()
    finally:
        hospital_db.client.set_unreachable(False)
    assert body["status"] == "degraded"
    assert body["checks"]["mongodb"]["ok"] is False
    assert "ServerSelectionTimeoutError" in body["checks"]["mongodb"]["error"]


def test_liveness_answers(client):
    assert client.get("/health/live/").json() == {"status": "ok"}
