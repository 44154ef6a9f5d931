"""`manage.py serve` stops cleanly on SIGTERM under either server: listener and simulator too."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from tests.servers import ROOT, free_port, manage, server_env

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_sigterm_stops_the_listener_and_the_simulator(tmp_path, hospital_store, server):
    base = server_env(tmp_path, hospital_store)
    manage("migrate", "--noinput", env=base)
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--simulate", "5",
             "--server", server],
            cwd=ROOT, env=base, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        time.sleep(2)  # the listener's first resync and a few simulated changes
        simulators = [child for child in psutil.Process(process.pid).children(recursive=True)
                      if "simulate" in " ".join(child.cmdline())]
        assert len(simulators) == 1
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        psutil.wait_procs(simulators, timeout=10)
        assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE
                       for child in simulators)
        text = log.read_text()
        assert "listener stopped after" in text
        assert "Traceback" not in text
    finally:
        if process.poll() is None:
            process.kill()
