"""The heartbeat reaches every socket once a round, counted from its connection, so that
sockets that connected at different moments are written at different turns, not all at once."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from live.sockets import hub as hub_module

SOCKETS = 12
TURNS = 4


class Unwatched:
    """In place of the dependency monitor: no status change is announced to every socket
    meanwhile (none runs a listener here), so each status a socket gets is a heartbeat."""

    def __init__(self, hub) -> None:
        pass

    async def run(self) -> None:
        await asyncio.Event().wait()


@pytest.fixture(autouse=True)
def unwatched(monkeypatch):
    monkeypatch.setattr(hub_module, "DependencyMonitor", Unwatched)


class Beating:
    """A socket with a direct writer that notes when each connection_status reached it."""

    def __init__(self) -> None:
        self.beats: list[float] = []

    def write_now(self, frame: bytes) -> bool:
        header = 4 if frame[1] == 126 else 2  # a text frame under 64 KiB (RFC 6455 5.2)
        message = orjson.loads(frame[header:])
        assert message["type"] == "connection_status"
        self.beats.append(time.monotonic())
        return True

    async def send_text(self, text: str) -> None:
        raise AssertionError("a socket with a direct writer is written directly")

    def offer(self, updates, frames) -> int:
        return 0

    def fail(self, exc: Exception) -> None:
        raise exc


async def test_each_socket_beats_a_round_after_it_connected_not_all_at_once(
    fresh_hub, hospital_db, settings, monkeypatch
):
    turn_seconds = 0.25
    settings.DASHBOARD_HEARTBEAT_SECONDS = turn_seconds * TURNS
    monkeypatch.setattr(hub_module, "HEARTBEAT_TURN_SECONDS", turn_seconds)
    round_seconds = settings.DASHBOARD_HEARTBEAT_SECONDS
    await fresh_hub.start()
    # SOCKETS / TURNS sockets connect in each of TURNS turns running.
    sockets, connected = [], {}
    for _ in range(TURNS):
        turn = fresh_hub._turn
        for _ in range(SOCKETS // TURNS):
            socket = Beating()
            fresh_hub.connect(socket)
            sockets.append(socket)
            connected[socket] = time.monotonic()
        async with asyncio.timeout(5):
            while fresh_hub._turn == turn:
                await asyncio.sleep(0.01)
    async with asyncio.timeout(10):
        while not all(len(socket.beats) >= 2 for socket in sockets):
            await asyncio.sleep(0.02)

    for socket in sockets:
        # Its first a round after it connected (to the turn), then once a round.
        first = socket.beats[0] - connected[socket]
        # (The upper bounds leave room for a busy machine's late timers.)
        assert round_seconds - turn_seconds * 1.2 < first < round_seconds + 3 * turn_seconds, first
        gap = socket.beats[1] - socket.beats[0]
        assert round_seconds * 0.7 < gap < round_seconds * 2, socket.beats
    # The first beats came in TURNS turns of SOCKETS / TURNS sockets, a turn apart.
    first = sorted(socket.beats[0] for socket in sockets)
    turns = [[first[0]]]
    for moment in first[1:]:
        if moment - turns[-1][-1] < turn_seconds / 2:
            turns[-1].append(moment)
        else:
            turns.append([moment])
    assert [len(turn) for turn in turns] == [SOCKETS // TURNS] * TURNS


async def test_a_socket_that_left_is_not_written(fresh_hub, hospital_db, settings, monkeypatch):
    settings.DASHBOARD_HEARTBEAT_SECONDS = 0.2
    monkeypatch.setattr(hub_module, "HEARTBEAT_TURN_SECONDS", 0.1)
    staying, leaving = Beating(), Beating()
    fresh_hub.connect(staying)
    fresh_hub.connect(leaving)
    fresh_hub.disconnect(leaving)
    await fresh_hub.start()
    async with asyncio.timeout(5):
        while len(staying.beats) < 2:
            await asyncio.sleep(0.02)
    assert leaving.beats == []
