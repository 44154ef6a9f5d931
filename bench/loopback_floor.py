"""What the machine's kernel alone costs a flush: one frame written to each of N loopback sockets.

    python -m bench.loopback_floor [--sockets 10000] [--bytes 1000] [--rounds 20]

One process holds the server ends and writes the same bytes to every socket
(`transport.write`, as the hub's direct writer does, live/sockets/frames.py);
another holds the client ends and reads every frame (`data_received`, as the
load generator's lean reader does). No WebSocket, JSON, Django or Redis: what is
left is the event loops and the kernel's TCP on loopback. Each round reports the
time from the first write to the last frame read, and each side's CPU per frame;
the medians over the rounds are the floor under `python -m bench --clients N`,
whose change -> client latency adds everything else (docs/bench-load.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time

from bench.load.procs import raise_file_limit

SEND_BUFFER_BYTES = 16 * 1024  # the servers' own (live/sockets/frames.py)


def _cpu() -> float:
    return time.process_time()


# --- the reading side (a child process) ---------------------------------------------------------
class _Reader(asyncio.Protocol):
    def __init__(self, state: dict) -> None:
        self.state = state

    def data_received(self, data: bytes) -> None:
        state = self.state
        state["bytes"] += len(data)
        if state["bytes"] >= state["expect"]:
            state["done"].set_result(time.time())


async def _read(port: int, sockets: int, size: int, rounds: int) -> None:
    loop = asyncio.get_running_loop()
    state = {"bytes": 0, "expect": sockets * size, "done": loop.create_future()}
    for start in range(0, sockets, 200):
        await asyncio.gather(
            *(
                loop.create_connection(lambda: _Reader(state), "127.0.0.1", port)
                for _ in range(start, min(sockets, start + 200))
            )
        )
    print("CONNECTED", flush=True)
    for _ in range(rounds):
        began = _cpu()
        last = await state["done"]
        print(json.dumps({"last": last, "cpu": _cpu() - began}), flush=True)
        state.update(bytes=0, done=loop.create_future())


# --- the writing side ---------------------------------------------------------------------------
class _Held(asyncio.Protocol):
    def __init__(self, held: list) -> None:
        self.held = held

    def connection_made(self, transport) -> None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self.held.append(transport)


async def _write(options) -> dict:
    loop = asyncio.get_running_loop()
    held: list = []
    server = await loop.create_server(lambda: _Held(held), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    reader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.loopback_floor",
            "--read",
            str(port),
            "--sockets",
            str(options.sockets),
            "--bytes",
            str(options.bytes),
            "--rounds",
            str(options.rounds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = reader.stdout
    try:
        assert (await asyncio.to_thread(lines.readline)).strip() == "CONNECTED"
        while len(held) < options.sockets:
            await asyncio.sleep(0.01)
        frame = b"\x81" + b"x" * (options.bytes - 1)
        rows = []
        for _ in range(options.rounds):
            await asyncio.sleep(options.gap)
            began, cpu = time.time(), _cpu()
            for transport in held:
                transport.write(frame)
            writer_cpu = _cpu() - cpu
            read = json.loads(await asyncio.to_thread(lines.readline))
            rows.append(
                {
                    "last_ms": (read["last"] - began) * 1e3,
                    "writer_us": writer_cpu / options.sockets * 1e6,
                    "reader_us": read["cpu"] / options.sockets * 1e6,
                }
            )
    finally:
        for transport in held:
            transport.close()
        server.close()
        reader.wait(timeout=30)
    return {
        key: round(statistics.median(row[key] for row in rows), 1)
        for key in ("last_ms", "writer_us", "reader_us")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10000)
    parser.add_argument("--bytes", type=int, default=1000, help="bytes written to each socket")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two rounds")
    parser.add_argument("--read", type=int, metavar="PORT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    raise_file_limit()
    try:
        import uvloop  # what the servers and the load generators run on
    except ImportError:
        run = asyncio.run
    else:
        run = uvloop.run
    if options.read:
        run(_read(options.read, options.sockets, options.bytes, options.rounds))
        return
    result = run(_write(options))
    print(
        f"{options.sockets} sockets, {options.bytes} B each, median of {options.rounds} rounds: "
        f"last frame read {result['last_ms']:.1f} ms after the first write; CPU per frame: "
        f"writer {result['writer_us']:.1f} us, reader {result['reader_us']:.1f} us"
    )


if __name__ == "__main__":
    main()
