"""The service registry: each instance announces itself in Redis with a heartbeat and an expiry.

A load balancer or a client can list the live instances (`GET /api/instances/`)
and pick one by round-robin or by least connections (`pick_instance`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any

from django.conf import settings

from dashboard_project.dependencies import async_redis, sync_redis
from metrics.values import now_iso

from .runtime import instance_id

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
    if not settings.REDIS_URL:
        return []
    client = sync_redis()
    try:
        keys = sorted(client.scan_iter(match=_prefix() + "*", count=100))
        values = client.mget(keys) if keys else []
    finally:
        client.close()
    return [json.loads(value) for value in values if value]


_round_robin = itertools.count()


def pick_instance(instances: list[dict[str, Any]], strategy: str = "least-connections"):
    """Choose an instance: 'least-connections' (ties by id) or 'round-robin'."""
    if not instances:
        return None
    if strategy == "round-robin":
        return instances[next(_round_robin) % len(instances)]
    if strategy == "least-connections":
        return min(instances, key=lambda item: (item["connections"], item["id"]))
    raise ValueError(f"unknown strategy {strategy!r}")
