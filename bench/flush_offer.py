"""What a server process adds to the kernel's floor for each socket of a flush.

    python -m bench.flush_offer [--sockets 5000] [--rounds 30]

N loopback sockets are held in one uvloop process, each behind the server's
own per-socket objects: its subscriptions and outbox (live/sockets/outbox.py)
and the direct writer of a uvicorn connection (live/sockets/frames.py; the
connection object is a stand-in holding the four attributes the writer reads,
since no WebSocket handshake is made). Each round offers one flush of two
updates to every socket the way the hub does (live/sockets/fanout.py,
SOCKETS_PER_TURN at a time), and, alternating with it, writes the same
batched frame to every transport with `transport.write` alone, which is what
`python -m bench.loopback_floor` times. It prints the median CPU per socket
of each and their difference: the Python the servers run per socket per flush
on top of the system call. Every socket reads in the same process between
rounds, so the figures are the writing side's only; the offer and the plain
writes carry the same bytes, and the run fails unless every socket read both
frames of every round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from types import SimpleNamespace

METRICS = ("emergencyAlerts", "patientCount", "roomOccupancy")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()


class _Held(asyncio.Protocol):
    def __init__(self, held: list) -> None:
        self.held = held

    def connection_made(self, transport) -> None:
        self.held.append(transport)


class _Reader(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = 0

    def data_received(self, data: bytes) -> None:
        self.received += len(data)


class _Socket:
    """The part of a dashboard socket the hub meets in a flush (live/sockets/websocket.py)."""

    def __init__(self, outbox) -> None:
        self.outbox = outbox
        self.paused = self.closing = False

    def offer(self, updates, frames) -> int:
        if self.paused or self.closing:
            return 0
        return self.outbox.offer(updates, frames)

    def fail(self, exc: Exception) -> None:
        raise exc


def _connection(transport):
    """What the direct writer reads of uvicorn's connection: open, nothing negotiated."""
    from websockets.protocol import State

    return SimpleNamespace(
        transport=transport,
        close_sent=False,
        disconnected=False,
        conn=SimpleNamespace(state=State.OPEN, extensions=[]),
    )


async def _measure(sockets: int, rounds: int, gap: float) -> dict[str, float]:
    from live.sockets.fanout import Delivery
    from live.sockets.frames import _UvicornWriter, text_frame
    from live.sockets.hub import SOCKETS_PER_TURN
    from live.sockets.outbox import Outbox, Update, batch_text
    from live.sockets.subscriptions import SocketSubscriptions

    loop = asyncio.get_running_loop()
    held: list = []
    server = await loop.create_server(lambda: _Held(held), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    clients = []
    for start in range(0, sockets, 200):
        clients += await asyncio.gather(
            *(
                loop.create_connection(_Reader, "127.0.0.1", port)
                for _ in range(start, min(sockets, start + 200))
            )
        )
    while len(held) < sockets:
        await asyncio.sleep(0.01)
    dashboards = []
    for transport in held:
        subscriptions = SocketSubscriptions()
        for metric in METRICS:
            subscriptions.add(metric)
        outbox = Outbox(subscriptions, send_text=None, stop_sending=lambda: None)
        outbox.writer = _UvicornWriter(_connection(transport))
        outbox.batch = True  # as the bundled page asks
        dashboards.append(_Socket(outbox))

    offer_us: list[float] = []
    write_us: list[float] = []
    sent = 0  # bytes each socket should have read: both frames of every round
    try:
        for version in range(1, rounds + 1):
            updates = [
                Update.of(
                    metric,
                    {
                        "data": {"total": version, "byDepartment": {"ER": version}},
                        "updatedAt": "2026-12-07T12:00:00Z",
                        "stale": False,
                        "version": version,
                    },
                )
                for metric in METRICS[:2]
            ]
            await asyncio.sleep(gap)
            delivery = Delivery(updates, dashboards)
            began = time.process_time()
            for start in range(0, sockets, SOCKETS_PER_TURN):
                delivery.offer(start, start + SOCKETS_PER_TURN)
            offer_us.append((time.process_time() - began) / sockets * 1e6)

            await asyncio.sleep(gap)
            frame = text_frame(batch_text(updates))
            began = time.process_time()
            for transport in held:
                transport.write(frame)
            write_us.append((time.process_time() - began) / sockets * 1e6)
            sent += 2 * len(frame)
        await asyncio.sleep(gap)
        short = sum(reader.received != sent for _, reader in clients)
        if short:
            raise SystemExit(f"{short} of {sockets} sockets did not read every frame")
    finally:
        for transport, _ in clients:
            transport.close()
        for transport in held:
            transport.close()
        server.close()
    offer, write = statistics.median(offer_us), statistics.median(write_us)
    return {"offer_us": offer, "write_us": write, "added_us": offer - write}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds before each measurement")
    options = parser.parse_args()
    from bench.load.procs import raise_file_limit

    raise_file_limit()
    _setup_django()
    import uvloop  # what the servers run on

    result = uvloop.run(_measure(options.sockets, options.rounds, options.gap))
    print(
        f"{options.sockets} sockets, median of {options.rounds} rounds, CPU per socket: "
        f"a flush offered as the hub does {result['offer_us']:.1f} us, the same frame written "
        f"alone {result['write_us']:.1f} us, added by the server {result['added_us']:.1f} us; "
        "every socket read every frame"
    )


if __name__ == "__main__":
    main()
