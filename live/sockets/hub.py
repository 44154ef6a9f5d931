"""One channel-layer subscription per server process, and what the process tells its sockets.

The channel layer's per-consumer dispatch is the cost that limits Channels
fan-out (docs/bench-load.md); here each server process subscribes once, to
the group the listener publishes every flush to, queues each flush
(live/sockets/flushes.py) and offers it to its sockets through its local
fan-out (live/sockets/fanout.py), in parts, critical flushes first. The hub also keeps the process's status
(`connection_status`: connected, degraded, stale, from live/sockets/monitor.py),
repeats it as a heartbeat, and polls values while the channel layer is away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from accounts.changes import ACCESS_CHANGED_TYPE, ACCESS_GROUP, users_of
from metrics.scope import Scope
from metrics.values import CHANNEL_MESSAGE_TYPE, MetricValue, values_from_message
from runtime import telemetry
from runtime.collector import collector

from ..groups import UPDATES_GROUP
from ..instance import instance_id
from . import protocol
from .fanout import LocalFanout
from .fanout import Subscriber as FanoutSubscriber
from .flushes import FlushQueue
from .frames import text_frame
from .monitor import LISTENER_DOWN, REDIS_UNAVAILABLE, DependencyMonitor
from .outbox import Update

logger = logging.getLogger("dashboard.hub")

# Problems under which pushed updates may not arrive (the rest leave values stale).
DEGRADING = frozenset({REDIS_UNAVAILABLE, LISTENER_DOWN})

# The in-memory layer forgets group members after group_expiry; re-joining keeps the hub in.
REJOIN_SECONDS = 600.0
# Sockets offered a flush between two turns of the event loop (some 5 ms of writing).
SOCKETS_PER_TURN = 256
# The heartbeat goes out in turns this far apart, each socket's counted from its connection,
# rather than to every socket at once: at thousands of sockets, one burst every
# DASHBOARD_HEARTBEAT_SECONDS would be a flush of its own that an update meeting it waits behind.
HEARTBEAT_TURN_SECONDS = 1.0


class Subscriber(FanoutSubscriber, Protocol):
    async def send_text(self, text: str) -> None: ...

    def write_now(self, frame: bytes) -> bool:
        """Write this frame straight to the socket if it can be (see Outbox.write_now)."""


class Hub:
    def __init__(self) -> None:
        self.fanout = LocalFanout()
        self.flushes = FlushQueue()
        # Every local socket, and the heartbeat's turn when it connected.
        self._connections: dict[Subscriber, int] = {}
        self._turn = 0
        self._revalidations: set[asyncio.Task] = set()
        self._channel: str | None = None
        self._tasks: list[asyncio.Task] = []
        self._start_lock: asyncio.Lock | None = None
        # What stands between this process and live values (live/sockets/monitor.py codes).
        self.problems: frozenset[str] = frozenset()
        self._last_poll: dict[str, float] = {}

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the metric groups and start the loops; never raises.

        If the channel layer (Redis) is unreachable, the hub starts anyway (sockets
        are served, degraded, with polled values) and the reader subscribes as soon
        as the layer answers.
        """
        if self._tasks:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._tasks:
                return
            await self._subscribe()
            self._tasks = [
                asyncio.create_task(self._read_loop(), name="hub-reader"),
                asyncio.create_task(self._deliver_loop(), name="hub-deliverer"),
                asyncio.create_task(self._heartbeat_loop(), name="hub-heartbeat"),
                asyncio.create_task(self._rejoin_loop(), name="hub-rejoin"),
                asyncio.create_task(DependencyMonitor(self).run(), name="hub-monitor"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def _subscribe(self) -> bool:
        """A channel of this process's own, in every metric group; False if the layer failed."""
        layer = get_channel_layer()
        try:
            if self._channel is None:
                self._channel = await layer.new_channel("hub.")
            await self._join_groups()
        except Exception as exc:
            logger.warning("hub cannot subscribe to the channel layer yet: %s", exc)
            self._channel = None
            return False
        return True

    async def _join_groups(self) -> None:
        layer = get_channel_layer()
        await layer.group_add(UPDATES_GROUP, self._channel)
        # Access changes to re-read at once (accounts/changes.py).
        await layer.group_add(ACCESS_GROUP, self._channel)

    async def _rejoin_loop(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            if self._channel is None:
                continue  # the reader subscribes first
            try:
                await self._join_groups()
            except Exception:
                logger.warning("hub could not re-join the metric groups", exc_info=True)

    # --- connections and heartbeat ----------------------------------------------------------------
    def connect(self, subscriber: Subscriber) -> None:
        if subscriber not in self._connections:
            self._connections[subscriber] = self._turn
            collector.socket_opened()

    def disconnect(self, subscriber: Subscriber) -> None:
        if self._connections.pop(subscriber, None) is not None:
            collector.socket_closed()  # its cycles wait for the next full sweep
        self.fanout.forget(subscriber)

    def access_changed(self, user_ids: frozenset[int]) -> None:
        """These users' access changed: their sockets in this process re-read it now."""
        found = 0
        for connection in list(self._connections):
            access = getattr(connection, "access", None)
            revalidate = getattr(connection, "revalidate_now", None)
            if access is not None and access.user_id in user_ids and revalidate is not None:
                task = asyncio.create_task(revalidate())
                self._revalidations.add(task)
                task.add_done_callback(self._revalidations.discard)
                found += 1
        logger.info("access changed for users %s: %d socket(s) re-read", sorted(user_ids), found)

    @property
    def layer_ok(self) -> bool:
        """Whether pushed updates arrive; if not, the monitor has the hub poll."""
        return not self.problems & DEGRADING

    def status(self) -> str:
        if self.problems & DEGRADING:
            return "degraded"
        return "stale" if self.problems else "connected"

    def status_message(self) -> dict:
        detail = ",".join(sorted(self.problems)) or None
        return protocol.connection_status(self.status(), instance_id(), detail)

    async def announce(self) -> None:
        """Send the current connection_status to every local socket (serialized once)."""
        await self._send_to_all(protocol.encode(self.status_message()))

    async def _send_to_all(self, text: str, connections: list[Subscriber] | None = None) -> None:
        """One connection_status text to every local socket (or those given), counted as sent.

        The frame is built once and written straight to each socket that has a direct writer,
        as updates are: through ASGI each socket would encode it again, and the heartbeat would
        hold the event loop (and a critical flush behind it) for as long as a flush of its own
        at thousands of sockets. The others get it through ASGI."""
        frame = text_frame(text)
        if connections is None:
            connections = list(self._connections)
        for subscriber in [s for s in connections if not s.write_now(frame)]:
            await subscriber.send_text(text)
        telemetry.messages_out.labels(type="connection_status").inc(len(connections))

    async def _heartbeat_loop(self) -> None:
        """Every socket gets the status every DASHBOARD_HEARTBEAT_SECONDS counted from its
        connection (which sent it the status first), to the turn: sockets that connected at
        different moments get theirs at different turns (HEARTBEAT_TURN_SECONDS apart)."""
        while True:
            interval = settings.DASHBOARD_HEARTBEAT_SECONDS
            turns = max(1, round(interval / HEARTBEAT_TURN_SECONDS))
            await asyncio.sleep(interval / turns)
            self._turn += 1
            turn = self._turn
            due = [
                s
                for s, joined in self._connections.items()
                if turn > joined and (turn - joined) % turns == 0
            ]
            if due:
                await self._send_to_all(protocol.encode(self.status_message()), due)

    # --- subscriptions (the local fan-out's) ---------------------------------------------------------
    def join(self, subscriber: Subscriber, metric: str, scope: Scope) -> None:
        self.fanout.join(subscriber, metric, scope)

    def leave(self, subscriber: Subscriber, metric: str, scope: Scope) -> None:
        self.fanout.leave(subscriber, metric, scope)

    def latest(self, metric: str, scope: Scope) -> Update | None:
        return self.fanout.latest(metric, scope)

    def dispatch(self, values: list[MetricValue]) -> None:
        self.fanout.dispatch(values)

    # --- delivery ---------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        layer = get_channel_layer()
        backoff = 0.5
        while True:
            if self._channel is None and not await self._subscribe():
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            try:
                message = await layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("hub could not read from the channel layer: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            if message.get("type") == CHANNEL_MESSAGE_TYPE:
                try:
                    self.flushes.put(values_from_message(message))
                except Exception:
                    logger.exception("could not read the flush %s", message.get("values"))
            elif message.get("type") == ACCESS_CHANGED_TYPE:
                self.access_changed(users_of(message))
            # A message already queued comes back without the loop running anything else: under
            # a backlog of flushes the process's other tasks (its heartbeat, the sockets' own
            # reads) would wait for all of them, and a worker silent for 10 s is replaced.
            await asyncio.sleep(0)

    async def _deliver_loop(self) -> None:
        """Offer each flush to the local sockets, critical flushes first, SOCKETS_PER_TURN at a
        time. Between two parts the event loop runs its other work (sockets' reads, the reader
        above), and a critical flush that arrived meanwhile goes out before the rest of a
        standard one: at thousands of sockets a flush takes a good part of a second to write,
        and an emergency would otherwise wait behind a whole window of revenue and staff."""
        while True:
            values, critical = await self.flushes.get()
            try:
                await self._deliver(values, preemptible=not critical)
            except Exception:
                logger.exception("could not deliver a flush of %s", [v.metric for v in values])

    async def _deliver(self, values: list[MetricValue], preemptible: bool) -> None:
        began = time.perf_counter()
        parts = [
            (delivery, start)
            for delivery in self.fanout.plan(values)
            for start in range(0, len(delivery.subscribers), SOCKETS_PER_TURN)
        ]
        for n, (delivery, start) in enumerate(parts):
            if n:  # between two parts (a flush for a few hundred sockets goes out in one)
                await asyncio.sleep(0)
                while preemptible and self.flushes.critical_waiting():
                    urgent, _ = self.flushes.take()
                    await self._deliver(urgent, preemptible=False)
            delivery.offer(start, start + SOCKETS_PER_TURN)
        if parts:
            tier = "standard" if preemptible else "critical"
            telemetry.flush_delivery.labels(tier=tier).observe(time.perf_counter() - began)

    # --- degradation --------------------------------------------------------------------------------
    async def set_problems(self, problems: frozenset[str]) -> None:
        """Record what stands in the way; announce every change to the local sockets."""
        if problems == self.problems:
            return
        was_healthy = not self.problems
        self.problems = problems
        logger.warning(
            "dashboard status: %s (%s)", self.status(), ",".join(sorted(problems)) or "all well"
        )
        if not problems and not was_healthy:
            # Pushed updates may have been lost meanwhile: bring every socket to current values.
            await self._send_to_all(
                protocol.encode(protocol.connection_status("recovered", instance_id()))
            )
            await self.poll(due_only=False)
        await self.announce()

    async def poll(self, due_only: bool) -> None:
        """Read each locally subscribed metric and push what changed (the fallback when Redis is down)."""
        from metrics.catalogue import METRICS
        from metrics.selectors import get_live_base
        from runtime.off_loop import off_loop

        loop = asyncio.get_running_loop()
        values = []
        for metric in self.fanout.subscribed_metrics():
            if due_only and loop.time() - self._last_poll.get(metric, 0) < METRICS[metric].ttl:
                continue
            self._last_poll[metric] = loop.time()
            try:
                values.append(await off_loop(get_live_base)(metric))
            except Exception as exc:
                logger.warning("polling %s failed: %s", metric, exc)
        self.dispatch(values)


hub = Hub()
