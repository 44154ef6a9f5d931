"""`serve --workers 2`: one instance, two processes on one port, seen and stopped as one."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.request

import psutil
import pytest
import websockets

from tests.servers import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def gauge(server: LiveServer, name: str) -> float:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return float(re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M).group(1))


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
async def test_two_workers_share_the_port_and_stop_together(
    kind, tmp_path, hospital_store, redis_url, unique_prefix
):
    server = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={
            "REDIS_URL": redis_url,
            "DASHBOARD_CHANNEL_PREFIX": unique_prefix,
            "DASHBOARD_INSTANCE_ID": "wall",
            "DASHBOARD_SERVER": kind,
            # Forty sockets wait to sign in from this one address, on purpose.
            "DASHBOARD_MAX_WAITING_PER_ADDRESS": "40",
        },
        serve_args=("--workers", "2"),
    )
    parent = psutil.Process(server.process.pid)
    try:
        workers = [p for p in parent.children() if "--worker" in p.cmdline()]
        assert len(workers) == 2
        token = await asyncio.to_thread(server.token, "viewer")
        sockets = []
        instances = set()
        for _ in range(40):  # the kernel spreads connections over both workers
            ws = await websockets.connect(server.ws_url, origin=server.url)
            sockets.append(ws)
            instances.add(json.loads(await ws.recv())["instance"])
        assert instances == {"wall/0", "wall/1"}
        await sockets[0].send(json.dumps({"type": "authenticate", "token": token}))
        assert json.loads(await sockets[0].recv())["type"] == "authenticated"
        # /metrics, whichever worker answers, counts the instance's sockets.
        assert {
            await asyncio.to_thread(gauge, server, "dashboard_ws_connections_active")
            for _ in range(6)
        } == {40.0}
        for ws in sockets:
            await ws.close()
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.process.wait, 20) == 0
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert alive == []
    finally:
        server.stop()
    assert "Traceback" not in server.log()
