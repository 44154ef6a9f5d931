"""The service registry: each instance announces itself in Redis with a heartbeat and an expiry.

Super admins list the live instances (`GET /api/instances/`); any dashboard
user may ask which one a new connection should use (`GET /api/instances/pick/`,
by least connections or round-robin).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from django.conf import settings

from metrics.values import now_iso
from runtime.dependencies import async_redis, redis_configured, sync_redis

from ..instance import instance_id

logger = logging.getLogger("dashboard.registry")


def _prefix() -> str:
    return f"{settings.DASHBOARD_CHANNEL_PREFIX}:instances:"


HEARTBEAT_SECONDS = 5.0
EXPIRY_SECONDS = 15  # three missed heartbeats and an instance drops out


def _record(address: str, connections: int, started_at: str) -> dict[str, Any]:
    return {
        "id": instance_id(),
        "address": address,
        "connections": connections,
        "startedAt": started_at,
        "heartbeatAt": now_iso(),
    }


async def announce_forever(address: str, connection_count) -> None:
    """Register this instance and refresh it every HEARTBEAT_SECONDS until cancelled."""
    client = async_redis()
    started_at = now_iso()
    key = _prefix() + instance_id()
    try:
        while True:
            try:
                record = _record(address, connection_count(), started_at)
                await client.set(key, json.dumps(record), ex=EXPIRY_SECONDS)
            except Exception as exc:
                logger.warning("instance registry unavailable: %s", exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        try:
            await client.delete(key)
        except Exception:
            pass
        await client.aclose()


def live_instances() -> list[dict[str, Any]]:
    """Every instance whose heartbeat has not expired, ordered by id."""
    if not redis_configured():
        return []
    client = sync_redis()
    try:
        keys = sorted(client.scan_iter(match=_prefix() + "*", count=100))
        values = client.mget(keys) if keys else []
    finally:
        client.close()
    return [json.loads(value) for value in values if value]


STRATEGIES = ("least-connections", "round-robin")


def pick_instance(strategy: str = "least-connections") -> dict[str, Any] | None:
    """The live instance a new client should use: the fewest connections (ties by id), or the
    next in turn (one counter in Redis, shared by every instance). None if none is live."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    instances = live_instances()
    if not instances:
        return None
    if strategy == "least-connections":
        return min(instances, key=lambda item: (item["connections"], item["id"]))
    client = sync_redis()
    try:
        turn = client.incr(f"{settings.DASHBOARD_CHANNEL_PREFIX}:instance-turn")
    finally:
        client.close()
    return instances[(turn - 1) % len(instances)]
