"""The fault-injection proxy itself, checked against the local Redis: pass, cut, restore."""

from __future__ import annotations

import pytest
import redis

from tests.tcp_proxy import TcpProxy


def test_the_proxy_passes_traffic_drops_it_when_cut_and_passes_it_again(redis_url):
    target = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs
    proxy = TcpProxy(target["host"], target["port"]).start()
    try:
        client = redis.Redis(
            host="127.0.0.1", port=proxy.port, socket_timeout=2, socket_connect_timeout=2
        )
        assert client.ping()
        proxy.cut()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        with pytest.raises(redis.ConnectionError):
            redis.Redis(host="127.0.0.1", port=proxy.port, socket_connect_timeout=2).ping()
        proxy.restore()
        assert client.ping()  # redis-py reconnects on the next command
    finally:
        proxy.stop()
