"""A listener killed in the middle of a burst of changes comes back with an exact state.

A real `manage.py serve` (its listener in-process) follows the embedded store
while the simulator writes a burst into it; the process is killed with SIGKILL
mid-burst and started again. The new listener resumes from the last saved
checkpoint and builds its state again; asked to verify (SIGUSR1), it finds
every metric equal to the full aggregation with no drift, and the values it
serves equal a recount made by the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import urllib.request

import pytest
from django.utils import timezone

from metrics import store
from metrics.catalogue import LIVE_METRICS
from simulator import runner
from simulator.seed import seed_hospital
from tests.recount import moments, recount
from tests.servers import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def scrape(server: LiveServer) -> str:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        return response.read().decode()


def samples(text: str, name: str) -> dict[str, float]:
    """label text -> value, for every sample of one metric."""
    found = {}
    for labels, value in re.findall(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", text, re.M):
        found[labels] = float(value)
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def snapshot(server: LiveServer, token: str) -> dict:
    """metric -> {data, updatedAt, stale, version}, as the server serves it."""
    request = urllib.request.Request(
        server.url + "/api/metrics/snapshot/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["metrics"]


def equals_the_recount(served: dict) -> bool:
    return {name: value["data"] for name, value in served.items()} == recount(moments(served))


def test_a_listener_killed_mid_burst_rebuilds_a_state_equal_to_the_recount(
    tmp_path, hospital_store
):
    db = store.get_database()
    seed_hospital(db, seed=7, patients=300, now=timezone.now())
    server = LiveServer.start(tmp_path / "server", store_path=hospital_store)
    stop = threading.Event()
    writer = threading.Thread(
        target=runner.run, kwargs={"db": db, "rate": 150, "seed": 11, "stop": stop}, daemon=True
    )
    try:
        writer.start()
        wait_for(
            lambda: (
                sum(samples(scrape(server), "dashboard_changes_processed_total").values()) >= 60
            ),
            30,
            "the listener to be in the middle of the burst",
        )
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        time.sleep(0.5)  # the burst goes on without a listener
        server.launch()
        time.sleep(1.5)
        stop.set()
        writer.join(timeout=30)
        assert "incremental state built (resume)" in server.log()

        os.kill(server.process.pid, signal.SIGUSR1)
        text = wait_for(
            lambda: (
                (t := scrape(server))
                and all(
                    samples(t, "dashboard_metric_verifications_total").get(
                        f'metric="{metric}",result="match"', 0
                    )
                    >= 1
                    for metric in LIVE_METRICS
                )
                and t
            ),
            90,
            "every metric to be verified",
        )
        assert all(value == 0 for value in samples(text, "dashboard_metric_drift_total").values())
        assert not any(
            'result="drift"' in k for k in samples(text, "dashboard_metric_verifications_total")
        )

        token = server.token("superadmin")
        wait_for(
            lambda: equals_the_recount(snapshot(server, token)),
            30,
            "the served values to equal the recount",
        )
    finally:
        stop.set()
        server.stop()
