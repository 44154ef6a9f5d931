"""runtime/collector.py: long-lived objects leave the collector's sight; garbage cycles among them
are collected by a full sweep once enough sockets closed, or after an hour."""

from __future__ import annotations

import gc
import re
import urllib.request
import weakref

import pytest

from runtime import collector as collector_module
from runtime.collector import Collector
from tests.servers import LiveServer


class Node:
    """A reference cycle, as a closed socket leaves one (a consumer and its outbox)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def frozen_collector():
    """A Collector; the test process's objects are unfrozen again afterwards."""
    yield Collector()
    gc.unfreeze()
    gc.collect()


def test_a_tick_takes_what_survived_out_of_the_collectors_sight(frozen_collector):
    survivor = Node()
    frozen_collector.tick()
    assert gc.get_freeze_count() > 0
    frozen = gc.get_freeze_count()
    # A full collection now walks only what is newer than the tick.
    assert len(gc.get_objects()) < frozen
    assert survivor.me is survivor


def test_a_cycle_that_dies_frozen_waits_for_the_sweep_that_closed_sockets_bring(
    frozen_collector, monkeypatch
):
    monkeypatch.setattr(collector_module, "SWEEP_AFTER_CLOSED", 3)
    cycle = Node()
    gone = weakref.ref(cycle)
    for _ in range(8):
        frozen_collector.socket_opened()
    frozen_collector.tick()  # the cycle is frozen
    del cycle
    gc.collect()
    assert gone() is not None  # frozen: no collection sees it

    frozen_collector.socket_closed()
    frozen_collector.socket_closed()
    frozen_collector.tick()
    assert gone() is not None  # two closed of eight open: no sweep yet

    frozen_collector.socket_closed()
    frozen_collector.tick()
    assert gone() is None  # the third: a full sweep found it
    assert frozen_collector.closed_since_sweep == 0
    assert frozen_collector.open_sockets == 5


def test_a_quarter_of_the_open_sockets_closing_brings_a_sweep(frozen_collector, monkeypatch):
    monkeypatch.setattr(collector_module, "SWEEP_AFTER_CLOSED", 3)
    for _ in range(40):
        frozen_collector.socket_opened()
    for _ in range(7):
        frozen_collector.socket_closed()
    assert not frozen_collector.sweep_due(frozen_collector.last_sweep)  # 7 closed, 33 open
    frozen_collector.socket_closed()
    assert frozen_collector.sweep_due(frozen_collector.last_sweep)  # 8 closed, 32 open


def test_an_hour_brings_a_sweep_without_any_socket_closed(frozen_collector):
    cycle = Node()
    gone = weakref.ref(cycle)
    frozen_collector.tick()
    del cycle
    frozen_collector.last_sweep -= collector_module.FULL_SWEEP_SECONDS - 1
    frozen_collector.tick()
    assert gone() is not None
    frozen_collector.last_sweep -= 2
    frozen_collector.tick()
    assert gone() is None


@pytest.mark.slow
@pytest.mark.parametrize("server_name", ["uvicorn", "daphne"])
def test_a_server_takes_its_start_up_out_of_the_collectors_sight(
    server_name, tmp_path, hospital_store
):
    server = LiveServer.start(
        tmp_path / "server",
        store_path=hospital_store,
        env={"DASHBOARD_SERVER": server_name},
    )
    try:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            exposition = response.read().decode()
        frozen = re.search(r"^dashboard_gc_frozen_objects ([\d.e+]+)$", exposition, re.M)
        # Modules, Django and the app: tens of thousands of objects.
        assert frozen is not None and float(frozen[1]) > 20_000
    finally:
        server.stop()
