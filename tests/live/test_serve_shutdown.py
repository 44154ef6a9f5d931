"""`manage.py serve` stops cleanly on SIGTERM under either server: listener and simulator too."""

from __future__ import annotations

import time

import psutil
import pytest

from tests.servers import LiveServer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_sigterm_stops_the_listener_and_the_simulator(tmp_path, hospital_store, server):
    running = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={"DASHBOARD_SERVER": server},
        serve_args=("--simulate", "5"),
    )
    try:
        time.sleep(2)  # the listener's first resync and a few simulated changes
        simulators = [
            child
            for child in psutil.Process(running.process.pid).children(recursive=True)
            if "simulate" in " ".join(child.cmdline())
        ]
        assert len(simulators) == 1
    finally:
        running.stop()  # SIGTERM, then wait
    psutil.wait_procs(simulators, timeout=10)
    assert not any(
        child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in simulators
    )
    text = running.log()
    assert "listener stopped after" in text
    assert "Traceback" not in text
