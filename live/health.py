"""Health endpoints: /health/ (every dependency and the listener), /health/live/ and /health/ready/."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psutil
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import JsonResponse

from audit.writer import writer as audit_writer
from metrics.store import ping_mongodb
from runtime.breakers import states as circuit_states
from runtime.dependencies import async_redis, ping_redis, redis_configured

_CHECK_TIMEOUT = 2.0


async def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), timeout=_CHECK_TIMEOUT)
        result: dict[str, Any] = {"ok": True}
        if isinstance(detail, dict):
            result.update(detail)
    except Exception as exc:  # a failing dependency is reported, never raised
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latencyMs"] = round((time.perf_counter() - started) * 1000, 2)
    return result


async def _redis() -> dict:
    if not redis_configured():
        return {"mode": "not configured (in-process cache and channel layer)"}
    await ping_redis(settings.REDIS_SOCKET_TIMEOUT)
    return {}


async def _mongodb() -> dict:
    await ping_mongodb(_CHECK_TIMEOUT)
    return {"mode": "replica set" if settings.MONGODB_URI else "embedded"}


async def _channel_layer() -> dict:
    layer = get_channel_layer()
    channel = await layer.new_channel("health.")
    await layer.send(channel, {"type": "health.check"})
    message = await layer.receive(channel)
    if message.get("type") != "health.check":
        raise RuntimeError("channel layer returned a different message")
    return {}


async def _listener() -> dict:
    """Whether a listener is active (live/liveness.py): this process's monitor's view, or a
    fresh look where no monitor runs (a process that serves no sockets)."""
    from .liveness import watch

    if not watch.monitored:
        if redis_configured():
            client = async_redis()
            try:
                await watch.observe(client)
            finally:
                await client.aclose()
        else:
            await watch.observe()
    return watch.report()


async def _memory() -> dict:
    rss_mb = psutil.Process().memory_info().rss / (1024 * 1024)
    limit = settings.DASHBOARD_MEMORY_LIMIT_MB
    if rss_mb > limit:
        raise RuntimeError(f"resident memory {rss_mb:.0f} MiB over the {limit} MiB limit")
    return {"rssMb": round(rss_mb, 1), "limitMb": limit}


async def _audit() -> dict:
    """This process's audit queue: failing while entries were dropped lately (docs/audit.md)."""
    if not settings.DASHBOARD_AUDIT_ENABLED:
        return {"mode": "off"}
    return audit_writer.health()


async def collect_checks() -> dict[str, dict]:
    names = ("redis", "mongodb", "channelLayer", "listener", "memory", "audit")
    results = await asyncio.gather(
        _timed(_redis),
        _timed(_mongodb),
        _timed(_channel_layer),
        _timed(_listener),
        _timed(_memory),
        _timed(_audit),
    )
    checks = dict(zip(names, results, strict=True))
    # The breakers' view of each dependency, beside the direct probe.
    circuits = circuit_states()
    checks["redis"]["circuit"] = circuits["redis"]
    checks["mongodb"]["circuit"] = circuits["mongodb"]
    return checks


def overall_status(checks: dict[str, dict]) -> str:
    """down: nothing can be served (MongoDB and the cache both gone); degraded: something failed."""
    failing = {name for name, check in checks.items() if not check["ok"]}
    if not failing:
        return "ok"
    if {"mongodb", "redis"} <= failing:
        return "down"
    return "degraded"


async def health(request):
    checks = await collect_checks()
    status = overall_status(checks)
    return JsonResponse(
        {"status": status, "checks": checks}, status=503 if status == "down" else 200
    )


async def live(request):
    """The process answers; with several workers, every one of them serves (live/sockets/board.py)."""
    from .sockets.board import instance_board, missing_workers

    missing = missing_workers(instance_board())
    if missing:
        return JsonResponse({"status": "down", "missingWorkers": missing}, status=503)
    return JsonResponse({"status": "ok"})


async def ready(request):
    checks = await collect_checks()
    status = overall_status(checks)
    return JsonResponse({"status": status}, status=503 if status == "down" else 200)
