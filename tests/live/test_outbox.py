"""A socket that falls behind keeps only the newest value of each metric, in order, bounded."""

from __future__ import annotations

import asyncio
import json

import pytest

from live.sockets import outbox as outbox_module
from live.sockets.frames import text_frame
from live.sockets.outbox import BURST_WATER, HIGH_WATER, Outbox, Update
from live.sockets.subscriptions import SocketSubscriptions


class Transport:
    """A direct writer whose buffer the test fills and drains by hand."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.backlog = 0
        self.in_kernel = 0  # what the peer has not acknowledged
        self.aborted = False

    def open(self) -> bool:
        return not self.aborted

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)

    def buffered(self) -> int:
        return self.backlog

    def unread(self) -> int:
        return self.in_kernel

    def abort(self) -> None:
        self.aborted = True

    def messages(self) -> list[dict]:
        return [json.loads(frame[frame.index(b"{") :]) for frame in self.frames]


def update(metric: str, version: int, data: dict | None = None) -> Update:
    data = {"v": version} if data is None else data
    return Update.of(metric, {"data": data, "updatedAt": "x", "stale": False, "version": version})


@pytest.fixture
def socket():
    subscriptions = SocketSubscriptions()
    for metric in ("patientCount", "roomOccupancy"):
        subscriptions.add(metric)
    stopped = []
    box = Outbox(subscriptions, send_text=None, stop_sending=lambda: stopped.append(True))
    box.writer = Transport()
    box.stopped = stopped
    yield box
    box.cancel()


async def test_a_socket_that_keeps_up_gets_each_update_at_once(socket):
    assert socket.offer([update("patientCount", 1)], {}) == 1
    assert socket.offer([update("patientCount", 2), update("roomOccupancy", 1)], {}) == 2
    assert [(m["metric"], m["version"]) for m in socket.writer.messages()] == [
        ("patientCount", 1),
        ("patientCount", 2),
        ("roomOccupancy", 1),
    ]


async def test_a_socket_behind_keeps_the_newest_of_each_metric_and_never_goes_back(socket):
    socket.writer.backlog = BURST_WATER + 1
    for version in range(1, 50):
        socket.offer([update("patientCount", version)], {})
    socket.offer([update("roomOccupancy", 7)], {})
    socket.offer([update("patientCount", 3)], {})  # an older one arriving late
    assert socket.writer.frames == []
    assert {m: u.version for m, u in socket.pending.items()} == {
        "patientCount": 49,
        "roomOccupancy": 7,
    }  # bounded: one per metric, whatever was offered
    socket.writer.backlog = 0
    await asyncio.sleep(0.2)
    assert [(m["metric"], m["version"]) for m in socket.writer.messages()] == [
        ("patientCount", 49),
        ("roomOccupancy", 7),
    ]
    socket.offer([update("patientCount", 48)], {})
    assert len(socket.writer.frames) == 2  # never an older value after a newer one


async def test_a_burst_goes_out_whole_and_a_socket_over_high_water_for_a_while_is_behind(
    socket, monkeypatch
):
    monkeypatch.setattr(outbox_module, "BEHIND_AFTER_SECONDS", 0.1)
    socket.writer.backlog = HIGH_WATER + 1  # a burst written faster than the client reads it
    for version in range(1, 11):
        socket.offer([update("patientCount", version)], {})
    assert len(socket.writer.frames) == 10 and socket.pending == {}
    await asyncio.sleep(0.15)
    socket.writer.backlog = 0  # the client read it: the next burst starts a new clock
    socket.offer([update("patientCount", 11)], {})
    socket.writer.backlog = HIGH_WATER + 1
    socket.offer([update("patientCount", 12)], {})
    assert len(socket.writer.frames) == 12
    await asyncio.sleep(0.15)  # still over HIGH_WATER: behind, the newest waits
    socket.offer([update("patientCount", 13)], {})
    assert len(socket.writer.frames) == 12 and socket.pending["patientCount"].version == 13


async def test_the_same_version_goes_out_again_only_with_other_contents(socket):
    """Versions are database positions: the same state computed again later (a waiting time
    that grew) has the same version and other data, and is sent; the same contents are not."""
    socket.offer([update("patientCount", 5, {"waiting": 1})], {})
    socket.offer([update("patientCount", 5, {"waiting": 2})], {})
    socket.offer([update("patientCount", 5, {"waiting": 2})], {})  # nothing new
    socket.offer([update("patientCount", 4, {"waiting": 3})], {})  # an older state
    assert [m["data"] for m in socket.writer.messages()] == [{"waiting": 1}, {"waiting": 2}]
    socket.writer.backlog = BURST_WATER + 1  # behind: the later computation waits, not the first
    socket.offer([update("patientCount", 6, {"waiting": 0})], {})
    socket.offer([update("patientCount", 6, {"waiting": 4})], {})
    assert socket.pending["patientCount"].wire["data"] == {"waiting": 4}


async def test_batched_sockets_get_one_frame_per_flush(socket):
    socket.batch = True
    frames = {}
    socket.offer([update("patientCount", 1), update("roomOccupancy", 1)], frames)
    message = socket.writer.messages()[0]
    assert message["type"] == "dashboard_updates"
    assert [(u["metric"], u["version"]) for u in message["updates"]] == [
        ("patientCount", 1),
        ("roomOccupancy", 1),
    ]
    assert list(frames.values()) == socket.writer.frames  # built once, shared by the scope


async def test_a_socket_behind_for_too_long_is_closed_with_4008(socket, settings, monkeypatch):
    settings.DASHBOARD_SLOW_SOCKET_SECONDS = 0.2
    monkeypatch.setattr(outbox_module, "DRAIN_POLL_SECONDS", 0.01)
    monkeypatch.setattr(outbox_module, "ABORT_AFTER_SECONDS", 0.2)
    socket.writer.backlog = BURST_WATER + 1
    socket.offer([update("patientCount", 1)], {})
    await asyncio.sleep(0.35)
    assert socket.stopped == [True] and socket.pending == {}
    assert socket.writer.frames[-1] == b"\x88\x02\x0f\xa8"  # close, 4008
    await asyncio.sleep(0.3)
    assert socket.writer.aborted


async def test_a_peer_that_reads_nothing_is_closed_with_4008_before_its_buffers_fill(
    socket, settings, monkeypatch
):
    settings.DASHBOARD_SLOW_SOCKET_SECONDS = 0.2
    monkeypatch.setattr(outbox_module, "LOOK_EVERY_SECONDS", 0.05)
    monkeypatch.setattr(outbox_module, "ABORT_AFTER_SECONDS", 0.2)
    socket.writer.in_kernel = outbox_module.UNREAD_LIMIT + 1  # the transport itself is empty
    version = 0
    while not socket.stopped and version < 100:
        version += 1
        socket.offer([update("patientCount", version)], {})
        await asyncio.sleep(0.06)
    assert socket.stopped == [True]
    assert 4 <= version <= 10  # a look a 0.06 s offer, unread for more than 0.2 s
    assert socket.writer.frames[-1] == b"\x88\x02\x0f\xa8"  # close, 4008
    written = len(socket.writer.frames)
    socket.offer([update("patientCount", version + 1)], {})
    assert len(socket.writer.frames) == written  # nothing more after the close frame
    await asyncio.sleep(0.3)
    assert socket.writer.aborted


async def test_a_peer_that_catches_up_between_looks_is_never_closed(socket, settings, monkeypatch):
    settings.DASHBOARD_SLOW_SOCKET_SECONDS = 0.2
    monkeypatch.setattr(outbox_module, "LOOK_EVERY_SECONDS", 0.05)
    for version in range(1, 11):
        # Every other look finds the peer has read what it was sent.
        socket.writer.in_kernel = outbox_module.UNREAD_LIMIT + 1 if version % 2 else 0
        socket.offer([update("patientCount", version)], {})
        await asyncio.sleep(0.06)
    assert socket.stopped == []
    assert len(socket.writer.frames) == 10


def test_text_frames_follow_rfc_6455_lengths():
    assert text_frame("a")[:2] == b"\x81\x01"
    assert text_frame("a" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame("a" * 70000)[:2] == b"\x81\x7f" and len(text_frame("a" * 70000)) == 70010


class Looked(Transport):
    """A writer that counts the looks at what its peer left unread."""

    def __init__(self) -> None:
        super().__init__()
        self.looks = 0

    def unread(self) -> int:
        self.looks += 1
        return 0


async def test_sockets_opened_together_look_at_their_peers_in_different_flushes(
    settings, monkeypatch
):
    """Each socket's first look comes at its own point of the first period, so a server's
    sockets do not all make the system call in the same flush."""
    settings.DASHBOARD_SLOW_SOCKET_SECONDS = 30  # a look every 3 s
    now = [1000.0]
    monkeypatch.setattr(outbox_module.time, "monotonic", lambda: now[0])
    boxes = []
    for _ in range(200):
        subscriptions = SocketSubscriptions()
        subscriptions.add("patientCount")
        box = Outbox(subscriptions, send_text=None, stop_sending=lambda: None)
        box.writer = Looked()
        boxes.append(box)

    looks_per_flush = []
    for version in range(1, 14):  # a flush every half second for 6 s
        before = sum(box.writer.looks for box in boxes)
        for box in boxes:
            box.offer([update("patientCount", version)], {})
        looks_per_flush.append(sum(box.writer.looks for box in boxes) - before)
        now[0] += 0.5

    assert looks_per_flush[0] == 0  # the first offer only sets each socket's phase
    # Every socket looked within its first 3 s, and then again 3 s later ...
    assert all(box.writer.looks == 2 for box in boxes)
    # ... spread over the six flushes of a period rather than all in one.
    assert max(looks_per_flush) < 100
    assert sum(1 for n in looks_per_flush[1:7] if n) == 6
