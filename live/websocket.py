"""A dashboard socket's life and its sending side; live/consumers.py builds on it.

A socket's life is `__call__`: whatever ends it (the client, the server, an
error, a stopping server), its slot, its hub membership and its timers are
released in one `finally`. Once the server closes a socket, frames already
queued are dropped unread and nothing more is sent. Fan-out of updates is the
hub's (live/hub.py): a socket needs no channel-layer channel of its own, so
none is opened (one Redis subscription per socket would be pure cost, and
would fail handshakes while Redis is away).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.policy import Access
from dashboard_project import telemetry
from metrics.selectors import get_live_value

from . import protocol
from .admission import admission
from .hub import hub
from .off_loop import off_loop
from .ratelimit import RefusalWindow, TokenBucket
from .subscriptions import SocketSubscriptions

logger = logging.getLogger("dashboard.ws")

AUTH_TIMEOUT_SECONDS = 10.0


class DashboardSocket(AsyncWebsocketConsumer):
    # --- the socket's life ----------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        self.base_send = send
        self.channel_layer = None
        self.closing = False
        self.access: Access | None = None
        self.paused = False
        self.auth_failures = 0
        self.subscriptions = SocketSubscriptions()
        self.bucket = TokenBucket(rate_per_minute=60, burst=10)
        self.refusals = RefusalWindow(limit=30, window=60.0)
        self.timers: dict[str, asyncio.Task] = {}
        self.admitted = False
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.connect":
                    await self.connect()
                elif kind == "websocket.receive" and not self.closing:
                    await self.websocket_receive(message)
                elif kind == "websocket.disconnect":
                    return
        finally:
            self._end()

    def _end(self) -> None:
        self.closing = True
        for task in self.timers.values():
            task.cancel()
        self.timers.clear()
        if self.admitted:
            self.admitted = False
            hub.disconnect(self)
            admission.release(self)

    async def connect(self) -> None:
        await self.accept()
        if not admission.admit(self):
            await self.close(code=protocol.CLOSE_TRY_AGAIN_LATER)
            return
        self.admitted = True
        telemetry.connections_total.inc()
        await hub.start()
        hub.connect(self)
        await self.send_message(hub.status_message())
        self._schedule("auth", AUTH_TIMEOUT_SECONDS, self._close_unauthenticated)

    def evict(self) -> None:
        """Admission needs this slot for a newer socket: this one never signed in."""
        self.admitted = False
        hub.disconnect(self)
        asyncio.ensure_future(self.close(code=protocol.CLOSE_TRY_AGAIN_LATER))

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close once; nothing is sent after it and queued frames are dropped."""
        if self.closing:
            return
        self.closing = True
        for name in list(self.timers):
            if self.timers[name] is not asyncio.current_task():
                self._cancel(name)
        try:
            await self.base_send({"type": "websocket.close", "code": code or 1000})
        except Exception as exc:  # the socket went away first
            logger.debug("close of a socket already gone: %s", exc)

    # --- sending ------------------------------------------------------------------------------------
    async def send_text(self, text: str) -> None:
        if self.closing:
            return
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except Exception as exc:  # the socket went away between dispatch and send
            logger.debug("send to a closed socket dropped: %s", exc)
            self.closing = True

    async def send_message(self, message: dict) -> None:
        telemetry.messages_out.labels(type=message["type"]).inc()
        await self.send_text(protocol.encode(message))

    async def deliver(self, metric: str, version: int, text: str, wire: dict) -> None:
        """An update from the hub: sent unless paused, unsubscribed or older than what was sent."""
        if self.paused or self.closing or not self.subscriptions.record(metric, wire):
            return
        telemetry.messages_out.labels(type="dashboard_update").inc()
        await self.send_text(text)

    async def _send_current(self, metric: str, request_id: str | None = None) -> None:
        """Send the current value of a subscribed metric, never older than what was sent."""
        scope = self.access.scope
        try:
            value = await off_loop(get_live_value)(metric, scope)
        except Exception as exc:
            logger.warning("current value of %s unavailable: %s", metric, exc)
            await self.send_message(
                protocol.error(
                    "metrics_unavailable",
                    f"{metric} is unavailable right now",
                    request_id,
                    metrics=[metric],
                )
            )
            return
        wire = value.to_update()
        latest = hub.latest(metric, scope)
        if latest is not None and latest[0] > value.version:
            wire = latest[1]
        if self.subscriptions.record(metric, wire):
            await self.send_message(protocol.dashboard_update(metric, wire))

    # --- timers: each dies with its socket ----------------------------------------------------------
    def _schedule(self, name: str, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        self._cancel(name)

        async def run() -> None:
            await asyncio.sleep(delay)
            self.timers.pop(name, None)
            if not self.closing:
                await action()

        self.timers[name] = asyncio.create_task(run())

    def _cancel(self, name: str) -> None:
        task = self.timers.pop(name, None)
        if task is not None:
            task.cancel()

    async def _close_unauthenticated(self) -> None:
        await self.close(code=protocol.CLOSE_AUTH_FAILED)
