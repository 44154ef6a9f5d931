"""The dependency watch of a server process: is Redis there, is MongoDB there.

Every MONITOR_SECONDS both are pinged. A dependency counts as down after two
failed pings in a row and up again after one answer; the monitor drives the
circuit breakers from that (the ping is the authority on reachability), tells
the hub which problems stand (the hub announces them to its sockets), and
while the channel layer is away has the hub poll the values it cannot receive.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import pybreaker

from dashboard_project.breakers import mongodb_breaker, redis_breaker
from dashboard_project.dependencies import ping_mongodb, ping_redis, redis_configured

logger = logging.getLogger("dashboard.monitor")

MONITOR_SECONDS = 2.0
PING_TIMEOUT = 1.5
FAILURES_TO_DEGRADE = 2

# The stable codes of connection_status `detail` (README: WebSocket API).
REDIS_UNAVAILABLE = "redis_unavailable"
MONGODB_UNREACHABLE = "mongodb_unreachable"


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

    async def check(self) -> frozenset[str]:
        """Ping both, update the breakers; the problems that stand now."""
        redis_answered, mongodb_answered = await asyncio.gather(
            # The in-process channel layer (no Redis) cannot be unreachable.
            _answers(ping_redis, PING_TIMEOUT) if redis_configured() else _true(),
            _answers(ping_mongodb, PING_TIMEOUT),
        )
        redis_up = self.redis.record(redis_answered)
        mongodb_up = self.mongodb.record(mongodb_answered)
        _drive(redis_breaker, answered=redis_answered, down=not redis_up)
        _drive(mongodb_breaker, answered=mongodb_answered, down=not mongodb_up)
        problems = set()
        if not redis_up:
            problems.add(REDIS_UNAVAILABLE)
        if not mongodb_up:
            problems.add(MONGODB_UNREACHABLE)
        return frozenset(problems)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_SECONDS)
            try:
                await self.hub.set_problems(await self.check())
                if not self.hub.layer_ok:
                    await self.hub.poll(due_only=True)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("dependency monitor failed")


async def _true() -> bool:
    return True
