"""The load generator: many WebSocket clients in one asyncio process, driven over stdin/stdout.

    python -m bench.load.generator CONFIG_JSON

`mode` "dashboard": each client connects to /ws/dashboard/, authenticates with
the shared access token (asking for `dashboard_updates` frames when `batch`)
and subscribes to the given metrics; "bare": each client connects to the bare
consumer and only listens. The first `slow_clients` dashboard clients stop
reading once subscribed (the server sees a client that does not keep up); after
`slow_read_after` seconds they read what is left, to see how the
server closed them. Commands, one a line
on stdin, each answered on stdout:

    begin LABEL          start a measurement window          -> BEGUN LABEL
    count                deliveries so far in the window     -> COUNT n
    end LABEL REFS OUT   close the window, analyse it against
                         the reference times in REFS (JSON),
                         write the result to OUT             -> ENDED LABEL
    quit                 close every socket                  -> BYE {...}

The first line printed is READY {...} once every client is connected and
subscribed (or has failed). Arrival times are wall-clock (time.time()), the
clock every process of the run shares.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import sys
import time
import urllib.request
from array import array
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import orjson
import websockets
from websockets.asyncio.client import connect

from bench.load.analysis import analyse
from bench.load.newest import newest_tally
from bench.load.procs import raise_file_limit

RETRIES = 10


class Client:
    __slots__ = (
        "index",
        "url",
        "ready",
        "alive",
        "close_code",
        "initial",
        "last",
        "keys",
        "times",
        "errors",
        "out_of_order",
        "ws",
        "lean",
        "slow",
    )

    def __init__(self, index: int, url: str) -> None:
        self.index = index
        self.url = url
        self.ready = False
        self.alive = False
        self.close_code: int | None = None
        self.initial: dict[str, int] = {}  # metric -> version received before the window
        self.last: dict[str, int] = {}
        self.ws = None
        self.lean: LeanReader | None = None  # its reader once the client library let go
        self.slow = False
        self.reset()

    def reset(self) -> None:
        # Per window: which (metric, version) or sequence number arrived, and when.
        self.keys: dict[str, array] = {}
        self.times: dict[str, array] = {}
        self.errors = 0
        self.out_of_order = 0

    def record(self, key: str, ident: int, moment: float) -> None:
        keys = self.keys.get(key)
        if keys is None:
            keys = self.keys[key] = array("q")
            self.times[key] = array("d")
        keys.append(ident)
        self.times[key].append(moment)


class Generator:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.mode = config["mode"]
        self.urls = config["urls"]
        self.metrics = config.get("metrics", [])
        self.tiers = config.get("tiers", {})
        self.clients = [
            Client(
                config["first_index"] + i, self.urls[(config["first_index"] + i) % len(self.urls)]
            )
            for i in range(config["clients"])
        ]
        self.connect_failures: Counter = Counter()
        self.window: str | None = None
        self.window_started = 0.0
        self.delivered = 0
        self.bins: Counter = Counter()
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None
        self.dropped_in_window = 0
        # Frames a lean reader took during the window, read once it ends (LeanReader).
        self.held: list[tuple[Client, bytes, float]] = []
        self.tasks: list[asyncio.Task] = []
        self.quitting = asyncio.Event()
        self.retries = 0  # connections refused with 1013 and tried again
        self._ticket_pool: ThreadPoolExecutor | None = None
        for client in self.clients[: config.get("slow_clients", 0)]:
            client.slow = True

    # --- clients --------------------------------------------------------------------------------
    async def run_client(self, client: Client, gate: asyncio.Semaphore, settled) -> None:
        try:
            async with gate:
                ws = await self.open(client)
        except Exception as exc:
            self.connect_failures[type(exc).__name__ + _close_suffix(exc)] += 1
            client.alive = False
            settled(client)
            return
        client.ready = True
        settled(client)
        try:
            if client.slow:
                # It reads again once the server should have given up on it (its kernel
                # buffers full, then DASHBOARD_SLOW_SOCKET_SECONDS behind; the connection is
                # dropped 30 s after the close frame): what is left ends with that frame.
                ws.transport.pause_reading()  # not even the client library reads
                await asyncio.sleep(self.config.get("slow_read_after", 35))
                ws.transport.resume_reading()
                await self.drain(client, ws)
            elif self.mode == "dashboard":
                await self.listen_dashboard(client, ws)
            else:
                await self.listen_bare(client, ws)
        except websockets.ConnectionClosed as exc:
            client.close_code = exc.rcvd.code if exc.rcvd else 1006
        except asyncio.CancelledError:
            raise
        except Exception:
            client.close_code = -1
        finally:
            if client.alive and self.window is not None and not client.slow:
                self.dropped_in_window += 1
            client.alive = False

    async def open(self, client: Client):
        """Connect (and sign in); a server that says "try again later" (1013: too many
        sockets waiting to sign in at once) is tried again after a pause, as the page does."""
        for attempt in range(RETRIES):
            # A slow client is one on a poor link: a small receive window, few frames queued.
            slow = {"sock": await _small_window(client.url), "max_queue": 1} if client.slow else {}
            url = client.url
            if self.mode == "dashboard" and self.config.get("tickets"):
                # As the page does: a one-time ticket signs the socket in by its handshake.
                url = await self.ticketed_url(client.url)
            ws = await connect(
                url,
                origin=self.config["origin"],
                compression=None,
                ping_interval=None,
                max_size=2**22,
                open_timeout=self.config.get("open_timeout", 60),
                close_timeout=2,
                **slow,
            )
            client.ws = ws
            client.alive = True
            try:
                if self.mode == "dashboard":
                    await self.handshake(client, ws)
                return ws
            except websockets.ConnectionClosed as exc:
                client.alive = False
                if exc.rcvd is None or exc.rcvd.code != 1013 or attempt == RETRIES - 1:
                    raise
                self.retries += 1
                await asyncio.sleep(random.uniform(0.2, 1.0) * (attempt + 1))
        raise RuntimeError("unreachable")

    async def ticketed_url(self, ws_url: str) -> str:
        """The socket's address with a fresh one-time ticket (POST /api/auth/ticket/)."""
        parts = urlsplit(ws_url)
        scheme = "https" if parts.scheme == "wss" else "http"
        request = urllib.request.Request(
            f"{scheme}://{parts.netloc}/api/auth/ticket/",
            data=b"{}",
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.config['token']}",
            },
        )

        def fetch() -> str:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["ticket"]

        if self._ticket_pool is None:
            # As many ticket requests in flight as handshakes (asyncio's default pool has a few).
            self._ticket_pool = ThreadPoolExecutor(self.config.get("connect_concurrency", 50))
        ticket = await asyncio.get_running_loop().run_in_executor(self._ticket_pool, fetch)
        batch = "&batch=true" if self.config.get("batch") else ""
        return f"{ws_url}?ticket={ticket}{batch}"

    async def handshake(self, client: Client, ws) -> None:
        """Authenticate (unless a ticket did), subscribe, and wait for every metric's value."""
        if not self.config.get("tickets"):
            hello = {"type": "authenticate", "token": self.config["token"]}
            if self.config.get("batch"):
                hello["batch"] = True
            await ws.send(orjson.dumps(hello).decode())
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "authenticated":
                break
            if message["type"] in ("auth_error", "error"):
                raise RuntimeError(f"authentication refused: {message}")
        await ws.send(orjson.dumps({"type": "subscribe_metrics", "metrics": self.metrics}).decode())
        pending = set(self.metrics)
        async with asyncio.timeout(self.config.get("subscribe_timeout", 60)):
            while pending:
                message = orjson.loads(await ws.recv())
                kind = message["type"]
                if kind in ("dashboard_update", "dashboard_updates"):
                    for update in message.get("updates", [message]):
                        metric = update["metric"]
                        pending.discard(metric)
                        version = max(client.initial.get(metric, -1), update["version"])
                        client.initial[metric] = client.last[metric] = version
                elif kind == "error":
                    if message.get("metrics"):
                        pending.difference_update(message["metrics"])
                    else:
                        raise RuntimeError(f"subscribe refused: {message}")

    def _arrived(self, moment: float) -> None:
        self.delivered += 1
        self.bins[int(moment)] += 1
        if self.first_arrival is None:
            self.first_arrival = moment
        self.last_arrival = moment

    async def listen_dashboard(self, client: Client, ws) -> None:
        if self.config.get("lean"):
            client.close_code = await LeanReader.take_over(self, client, ws)
            return
        async for frame in ws:
            self.dashboard_message(client, frame, time.time())

    def dashboard_message(self, client: Client, frame: str | bytes, moment: float) -> None:
        message = orjson.loads(frame)
        kind = message.get("type")
        if kind == "dashboard_update":
            self._update(client, message, moment)
        elif kind == "dashboard_updates":
            for update in message["updates"]:
                self._update(client, update, moment)
        elif kind in ("error", "auth_error"):
            client.errors += 1

    def lean_message(self, client: Client, payload: bytes, moment: float) -> None:
        """A text frame a lean reader took: held as it came during a window, read now outside."""
        if self.window is None:
            self.dashboard_message(client, payload, moment)
        else:
            self.held.append((client, payload, moment))

    def read_held(self) -> None:
        """Read the frames held so far, in the order they came."""
        held, self.held = self.held, []
        for client, payload, moment in held:
            self.dashboard_message(client, payload, moment)

    def _update(self, client: Client, update: dict, moment: float) -> None:
        metric = update["metric"]
        version = update["version"]
        if version < client.last.get(metric, -1):  # equal: the same state computed again
            client.out_of_order += 1
        client.last[metric] = version
        if self.window is None:
            client.initial[metric] = version
            return
        self._arrived(moment)
        client.record(metric, version, moment)

    async def drain(self, client: Client, ws) -> None:
        """A slow client, at the end: read what the server left, until it closes."""
        try:
            async with asyncio.timeout(self.config.get("drain_timeout", 20)):
                async for _ in ws:
                    pass
        except TimeoutError:
            client.close_code = "still open"  # it caught up: the server never gave up on it
            return
        client.close_code = 1000 if ws.close_code is None else ws.close_code

    async def listen_bare(self, client: Client, ws) -> None:
        async for frame in ws:
            moment = time.time()
            if self.window is None:
                continue
            self._arrived(moment)
            client.record("bare", orjson.loads(frame)["seq"], moment)

    # --- windows ----------------------------------------------------------------------------------
    def begin(self, label: str) -> None:
        for client in self.clients:
            client.reset()
            for metric, version in client.last.items():
                client.initial[metric] = version
        self.delivered = 0
        self.bins = Counter()
        self.first_arrival = self.last_arrival = None
        self.dropped_in_window = 0
        # The generator's own full garbage collections (thousands of clients: a second each)
        # would hold every frame read and count as the server's latency: none in a window (what
        # it allocates per frame is freed by reference counting), and what exists is frozen.
        gc.collect()
        gc.freeze()
        gc.disable()
        self.window_started = time.time()
        self.window = label

    def end(self, refs_path: str, out_path: str) -> None:
        ended = time.time()
        self.read_held()
        label, self.window = self.window, None
        gc.enable()
        with open(refs_path) as handle:
            refs = json.load(handle)
        result = {"label": label, **analyse(self, refs, ended)}
        if "count" in refs:
            # A fan-out round (bench/load/publisher.py): every client is owed every value sent,
            # or the newest in place of those the server conflated.
            present = [c for c in self.clients if c.ready and not c.slow]
            result["newest"] = newest_tally(present, refs["sent"])
        with open(out_path, "w") as handle:
            json.dump(result, handle)

    def summary(self) -> dict:
        connected = sum(1 for c in self.clients if c.ready)
        slow = [c for c in self.clients if c.slow]
        return {
            "connect_retries": self.retries,
            "slow_clients": len(slow),
            "slow_close_codes": dict(Counter(c.close_code for c in slow)),
            "clients": len(self.clients),
            "connected": connected,
            "alive": sum(1 for c in self.clients if c.alive and not c.slow),
            "connect_failures": dict(self.connect_failures),
            "connected_by_url": dict(Counter(c.url for c in self.clients if c.ready)),
            "close_codes": dict(
                Counter(
                    c.close_code
                    for c in self.clients
                    if c.ready and not c.alive and c.close_code is not None and not c.slow
                )
            ),
            "versions": _max_versions(self.clients),
        }

    # --- main -------------------------------------------------------------------------------------
    async def main(self) -> None:
        raise_file_limit()
        gate = asyncio.Semaphore(self.config.get("connect_concurrency", 50))
        settled_count = 0
        all_settled = asyncio.Event()

        def settled(_client: Client) -> None:
            nonlocal settled_count
            settled_count += 1
            if settled_count == len(self.clients):
                all_settled.set()

        started = time.time()
        self.tasks = [asyncio.create_task(self.run_client(c, gate, settled)) for c in self.clients]
        if not self.clients:
            all_settled.set()
        await all_settled.wait()
        ready = {**self.summary(), "ramp_seconds": round(time.time() - started, 3)}
        _say("READY " + json.dumps(ready))
        await self.commands()

    async def commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = (await reader.readline()).decode().strip()
            if not line:
                if reader.at_eof():
                    break
                continue
            command, *args = line.split()
            if command == "begin":
                self.begin(args[0])
                _say(f"BEGUN {args[0]}")
            elif command == "count":
                self.read_held()
                _say(f"COUNT {self.delivered}")
            elif command == "end":
                self.end(args[1], args[2])
                _say(f"ENDED {args[0]}")
            elif command == "quit":
                break
        self.quitting.set()
        await asyncio.sleep(0)
        slow = [t for c, t in zip(self.clients, self.tasks, strict=True) if c.slow]
        if slow:
            await asyncio.wait(
                slow,
                timeout=self.config.get("slow_read_after", 35)
                + self.config.get("drain_timeout", 20)
                + 5,
            )
        summary = self.summary()
        await self.close_all()
        _say("BYE " + json.dumps(summary))

    async def close_all(self) -> None:
        async def close(client: Client) -> None:
            if client.lean is not None:
                client.lean.close()
            elif client.ws is not None:
                try:
                    await asyncio.wait_for(client.ws.close(), 2)
                except Exception:
                    pass

        for start in range(0, len(self.clients), 500):
            await asyncio.gather(*(close(c) for c in self.clients[start : start + 500]))
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class LeanReader(asyncio.Protocol):
    """A signed-in client's socket read without the client library: frames parsed here.

    At 10,000 sockets on two shared cores, the `websockets` library's work per frame (parser,
    queue, a future and a task switch per message) made the load generators, not the server,
    the bottleneck. Once signed in and subscribed, a client hands its transport to this
    reader (`--lean-clients`): it parses the server's unmasked, unfragmented frames itself,
    answers pings, and records each update as the library path does. During a window it
    only notes each text frame and the moment it came; the JSON is read when the window ends
    (`Generator.read_held`), so that the clients' reading takes less of the cores the
    server is measured on. Ten thousand dashboards would not share the server's machine.
    """

    def __init__(self, generator: Generator, client: Client, transport, ended) -> None:
        self.generator = generator
        self.client = client
        self.transport = transport
        self.ended = ended
        self.buffer = bytearray()
        self.code: int | None = None

    @classmethod
    async def take_over(cls, generator: Generator, client: Client, ws) -> int:
        """Read the rest of the connection here; the close code the server sent (1006: none)."""
        ended = asyncio.get_running_loop().create_future()
        reader = cls(generator, client, ws.transport, ended)
        # Whole frames the library read already (frames arrive whole on loopback, so its
        # parser holds nothing half read between two reads).
        queued = list(ws.recv_messages.frames.queue)
        ws.recv_messages.frames.queue.clear()
        ws.transport.set_protocol(reader)
        client.lean = reader
        for frame in queued:
            if frame.opcode.value == 1:
                generator.dashboard_message(client, frame.data, time.time())
        return await ended

    def data_received(self, data: bytes) -> None:
        moment = time.time()
        buffer = self.buffer
        if not buffer and len(data) > 4 and data[0] == 0x81 and data[1] < 127:
            # The common case on loopback: one whole text frame, read at once, nothing held.
            size, start = data[1], 2
            if size == 126:
                size, start = int.from_bytes(data[2:4], "big"), 4
            if len(data) == start + size:
                self.generator.lean_message(self.client, data[start:], moment)
                return
        buffer += data
        while len(buffer) >= 2:
            size, start = buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + size:
                return
            opcode, payload = buffer[0] & 0x0F, bytes(buffer[start : start + size])
            del buffer[: start + size]
            if opcode == 1:
                self.generator.lean_message(self.client, payload, moment)
            elif opcode == 9:
                self._send(0xA, payload)  # pong
            elif opcode == 8:
                self.code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame (masked, RFC 6455 section 5.3) of a short payload."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def close(self) -> None:
        if not self.transport.is_closing():
            self._send(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            self.ended.set_result(self.code if self.code is not None else 1006)


async def _small_window(url: str) -> socket.socket:
    """A connected TCP socket with a 4 KiB receive buffer."""
    address = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (address.hostname, address.port))
    return sock


def _close_suffix(exc: Exception) -> str:
    if isinstance(exc, websockets.ConnectionClosed) and exc.rcvd is not None:
        return f":{exc.rcvd.code}"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f":{status}" if status else ""


def _max_versions(clients: list[Client]) -> dict[str, int]:
    versions: dict[str, int] = {}
    for client in clients:
        for metric, version in client.last.items():
            versions[metric] = max(versions.get(metric, -1), version)
    return versions


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    config = json.loads(sys.argv[1])
    if config.get("lean"):
        # A frame's arrival wakes this process; under the default policy the wakeup may preempt
        # a server in the middle of writing a flush, once per frame. Under batch scheduling
        # (sched(7)) it reads what came when the kernel next runs it, as clients on machines of
        # their own would leave the server its cores; arrival times are still taken as it reads.
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    try:
        import uvloop  # the client's own cost matters on a shared machine: keep it low
    except ImportError:
        asyncio.run(Generator(config).main())
    else:
        uvloop.run(Generator(config).main())


if __name__ == "__main__":
    main()
