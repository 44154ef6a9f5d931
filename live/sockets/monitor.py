"""The dependency watch of a server process: Redis, MongoDB, and an active listener.

Every MONITOR_SECONDS both dependencies are checked. A dependency counts as
down after two failed checks in a row and up again after one answer; the
monitor drives the circuit breakers from that (the check is the authority on
reachability), tells the hub which problems stand (the hub announces them to
its sockets), and while the channel layer is away has the hub poll the values
it cannot receive.

The Redis check asks the server that answers for its run id and sends a
message through the channel layer to this process and back, which proves
that what is published now reaches this process. A different run id than at
the last answer means another server answers (a restart, or Sentinel promoted
a replica): what was published in between is lost, so the hub announces the
interruption and re-reads every subscribed value (`degraded`, `recovered`)
even if it was too short for two failed checks. The listener's heartbeat is
read on each check (live/liveness.py): `listener_down` when it is stale.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Protocol

import pybreaker
import redis.asyncio as aioredis
from channels.layers import get_channel_layer

from metrics.store import ping_mongodb
from runtime.breakers import mongodb_breaker, redis_breaker
from runtime.dependencies import async_redis, redis_configured, redis_identity

from ..liveness import watch

logger = logging.getLogger("dashboard.monitor")

MONITOR_SECONDS = 2.0
PING_TIMEOUT = 1.5
FAILURES_TO_DEGRADE = 2

# The stable codes of connection_status `detail` (docs/websocket-api.md).
REDIS_UNAVAILABLE = "redis_unavailable"
MONGODB_UNREACHABLE = "mongodb_unreachable"
LISTENER_DOWN = "listener_down"


class Watched(Protocol):
    """What the monitor needs of the hub."""

    async def set_problems(self, problems: frozenset[str]) -> None: ...

    async def poll(self, due_only: bool) -> None: ...

    @property
    def layer_ok(self) -> bool: ...


class FailureStreak:
    """Down after `threshold` failed pings in a row, up after one answer.

    One slow answer on a busy event loop (thousands of sockets being written to)
    is not an outage; two in a row, two seconds apart, are treated as one.
    """

    def __init__(self, threshold: int = FAILURES_TO_DEGRADE) -> None:
        self.threshold, self.failures = threshold, 0

    def record(self, ok: bool) -> bool:
        self.failures = 0 if ok else self.failures + 1
        return self.failures < self.threshold


class LayerProbe:
    """A message to a channel of this process's own and back through the channel layer."""

    def __init__(self) -> None:
        self.channel: str | None = None
        self._waiting: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task | None = None

    async def __call__(self, timeout: float) -> None:
        layer = get_channel_layer()
        if self.channel is None:
            self.channel = await layer.new_channel("probe.")
            self._reader = asyncio.create_task(self._read(layer, self.channel), name="probe")
        nonce = uuid.uuid4().hex
        arrived = self._waiting[nonce] = asyncio.Event()
        try:
            await asyncio.wait_for(layer.send(self.channel, {"type": "probe", "n": nonce}), timeout)
            await asyncio.wait_for(arrived.wait(), timeout)
        finally:
            self._waiting.pop(nonce, None)

    async def _read(self, layer, channel: str) -> None:
        # One receive for the channel's whole life: cancelling a receive unsubscribes it.
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the probe then fails, which is what it is for
                logger.warning("channel layer probe could not read: %s", exc)
                await asyncio.sleep(MONITOR_SECONDS)
                continue
            event = self._waiting.get(message.get("n", ""))
            if event is not None:
                event.set()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()


async def _answers(ping, timeout: float) -> bool:
    try:
        await ping(timeout)
    except Exception:
        return False
    return True


def _drive(breaker: pybreaker.CircuitBreaker, *, answered: bool, down: bool) -> None:
    """An answer closes the breaker at once, a dependency counted down opens it; a single
    failed ping leaves it as the calls set it."""
    if answered and breaker.current_state != "closed":
        breaker.close()
    elif down and breaker.current_state != "open":
        breaker.open()


class DependencyMonitor:
    def __init__(self, hub: Watched) -> None:
        self.hub = hub
        self.redis = FailureStreak()
        self.mongodb = FailureStreak()
        self.probe = LayerProbe()
        self.identity: str | None = None  # the run id of the Redis server that last answered
        self.failed_over = False  # the last check reached another Redis server than the one before
        self.listener_down = False
        self._client: aioredis.Redis | None = None

    async def _redis_answers(self) -> bool:
        """The Redis server answers and the channel layer carries a message to this process."""
        try:
            if self._client is None:
                self._client = async_redis(timeout=PING_TIMEOUT)
            identity = await redis_identity(self._client, PING_TIMEOUT)
            await self.probe(PING_TIMEOUT)
        except Exception:
            return False
        self.failed_over = self.identity is not None and identity != self.identity
        if self.failed_over:
            logger.warning("another Redis server answers now (run id %s)", identity)
        self.identity = identity
        return True

    async def _observe_listener(self, redis_answered: bool) -> None:
        """Read the listener's heartbeat; without an answer from Redis the verdict stands."""
        if redis_configured() and not redis_answered:
            return
        try:
            self.listener_down = await watch.observe(self._client)
        except Exception as exc:
            logger.warning("listener heartbeat unreadable: %s", exc)

    async def check(self) -> frozenset[str]:
        """Check both, update the breakers; the problems that stand now."""
        self.failed_over = False
        redis_answered, mongodb_answered = await asyncio.gather(
            # The in-process channel layer (no Redis) cannot be unreachable.
            self._redis_answers() if redis_configured() else _true(),
            _answers(ping_mongodb, PING_TIMEOUT),
        )
        await self._observe_listener(redis_answered)
        redis_up = self.redis.record(redis_answered)
        mongodb_up = self.mongodb.record(mongodb_answered)
        _drive(redis_breaker, answered=redis_answered, down=not redis_up)
        _drive(mongodb_breaker, answered=mongodb_answered, down=not mongodb_up)
        problems = set()
        if not redis_up:
            problems.add(REDIS_UNAVAILABLE)
        if not mongodb_up:
            problems.add(MONGODB_UNREACHABLE)
        if self.listener_down:
            problems.add(LISTENER_DOWN)
        return frozenset(problems)

    async def run(self) -> None:
        watch.monitored = True
        try:
            while True:
                await asyncio.sleep(MONITOR_SECONDS)
                try:
                    problems = await self.check()
                    if self.failed_over:
                        # Pushes published while the servers changed are lost: say so, then
                        # `recovered` with every subscribed value read again.
                        await self.hub.set_problems(problems | {REDIS_UNAVAILABLE})
                    await self.hub.set_problems(problems)
                    if not self.hub.layer_ok:
                        await self.hub.poll(due_only=True)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("dependency monitor failed")
        finally:
            self.probe.close()
            if self._client is not None:
                await self._client.aclose()


async def _true() -> bool:
    return True
