"""Redis through Sentinel: the settings, and every kind of client following a failover."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from channels.layers import get_channel_layer
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from metrics.cache import layers
from runtime import redis_settings
from runtime.dependencies import async_redis, redis_identity, sync_redis
from tests.sentinel_cluster import SentinelCluster
from tests.servers import ROOT


def settings_of(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE']='dashboard_project.settings';"
        "django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.CHANNEL_LAYERS, s.CACHES, s.DASHBOARD_LISTENER_IN_PROCESS]))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DASHBOARD_"))}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


def test_sentinels_are_read_as_host_and_port_pairs():
    assert redis_settings.parse_sentinels(["s1:26380", "s2", "[::1]:26381", "[fe80::1]"]) == [
        ("s1", 26380),
        ("s2", 26379),
        ("::1", 26381),
        ("fe80::1", 26379),
    ]
    with pytest.raises(ImproperlyConfigured, match="host:port"):
        redis_settings.parse_sentinels(["s1:port"])


def test_sentinel_settings_configure_the_channel_layer_and_the_cache():
    result = settings_of(
        {"REDIS_SENTINELS": "10.0.0.1:26379,10.0.0.2", "REDIS_SENTINEL_MASTER": "main"}
    )
    assert result.returncode == 0, result.stderr
    layers_, caches_, in_process = json.loads(result.stdout)
    host = layers_["default"]["CONFIG"]["hosts"][0]
    assert layers_["default"]["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert host["sentinels"] == [["10.0.0.1", 26379], ["10.0.0.2", 26379]]
    assert (host["master_name"], host["db"]) == ("main", 0)
    assert "address" not in host
    assert caches_["default"]["LOCATION"] == "redis-sentinel://main/0"
    assert caches_["default"]["OPTIONS"]["pool_class"].endswith("SentinelCachePool")
    assert in_process is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"REDIS_URL": "redis://r:6379/0", "REDIS_SENTINELS": "s:26379"},
            "REDIS_URL and REDIS_SENTINELS are both set",
        ),
        ({"REDIS_SENTINELS": "s:26379"}, "REDIS_SENTINEL_MASTER is empty"),
        ({"REDIS_SENTINELS": "s:x", "REDIS_SENTINEL_MASTER": "m"}, "host:port"),
    ],
)
def test_unclear_redis_settings_stop_start_up_with_a_message(env, message):
    result = settings_of(env)
    assert result.returncode != 0 and message in result.stderr


@pytest.fixture
def cluster(tmp_path, settings):
    cluster = SentinelCluster(tmp_path / "redis").start()
    sentinels = redis_settings.parse_sentinels(cluster.env["REDIS_SENTINELS"].split(","))
    options = {
        "master": cluster.env["REDIS_SENTINEL_MASTER"],
        "password": None,
        "db": 0,
        "timeout": 1.0,
        "prefix": "sentinel-test",
    }
    settings.REDIS_URL = None
    settings.REDIS_SENTINELS = cluster.env["REDIS_SENTINELS"].split(",")
    settings.REDIS_SENTINEL_MASTER = options["master"]
    with override_settings(
        CACHES=redis_settings.caches(None, sentinels, **options),
        CHANNEL_LAYERS=redis_settings.channel_layers(
            None, sentinels, sentinel_password=None, **options
        ),
    ):
        yield cluster
    cluster.stop()


@pytest.mark.slow
async def test_every_client_follows_the_primary_through_a_failover(cluster):
    cache = caches["default"]

    async def use_every_client(round_: int) -> str:
        client = async_redis()
        try:
            identity = await redis_identity(client, 1.0)
            await client.set(f"sentinel-test:async:{round_}", round_)
        finally:
            await client.aclose()
        blocking = sync_redis()
        try:
            assert int(blocking.get(f"sentinel-test:async:{round_}")) == round_
        finally:
            blocking.close()
        # A metric value's entry, where the cache layers keep them (their key version).
        version = layers.VALUES_KEY_VERSION
        await asyncio.to_thread(cache.set, f"metric:{round_}", round_, 30, version)
        assert await asyncio.to_thread(cache.get, f"metric:{round_}", None, version) == round_
        deleted = await asyncio.to_thread(layers._redis_delete_matching, cache, f"metric:{round_}")
        assert deleted == 1
        layer = get_channel_layer()
        assert "sentinels" in layer._shards[0].host  # the pub/sub layer on the Sentinel primary
        channel = await layer.new_channel("check.")
        await layer.send(channel, {"type": "check", "round": round_})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["round"] == round_
        return identity

    before = await use_every_client(1)
    cluster.primary.kill()
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        try:
            after = await use_every_client(2)
            break
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    assert after != before
    assert cluster.master_port() == cluster.replica.port
    await get_channel_layer().flush()
