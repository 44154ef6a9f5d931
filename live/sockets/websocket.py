"""A dashboard socket's life and its sending side; live/sockets/consumers.py builds on it.

A socket's life is `__call__`: whatever ends it (the client, the server, an
error, a stopping server), its slot, its hub membership and its timers are
released in one `finally`. Once the server closes a socket, frames already
queued are dropped unread and nothing more is sent. Fan-out of updates is the
hub's (live/sockets/hub.py): a socket needs no channel-layer channel of its own, so
none is opened (one Redis subscription per socket would be pure cost, and
would fail handshakes while Redis is away).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.policy import NO_ACCESS, Access
from metrics.selectors import get_live_value
from runtime import telemetry
from runtime.off_loop import off_loop

from . import auditing, protocol
from .admission import Arrival, admission
from .frames import direct_writer
from .frames import disable as disable_direct_writes
from .hub import hub
from .outbox import FrameCache, Outbox, Update
from .ratelimit import RefusalWindow, TokenBucket
from .subscriptions import SocketSubscriptions, live_order

logger = logging.getLogger("dashboard.ws")

AUTH_TIMEOUT_SECONDS = 10.0


class DashboardSocket(AsyncWebsocketConsumer):
    # --- the socket's life ----------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        self.base_send = send
        self.channel_layer = None
        self.closing = False
        self.access: Access = NO_ACCESS
        self.signed_in = False
        self.paused = False
        self.auth_failures = 0
        self.subscriptions = SocketSubscriptions()
        self.outbox = Outbox(self.subscriptions, self.send_text, self._stop_sending)
        self.outbox.on_failure = self.fail
        self.bucket = TokenBucket(rate_per_minute=60, burst=10)
        self.refusals = RefusalWindow(limit=30, window=60.0)
        self.timers: dict[str, asyncio.Task] = {}
        # Held while the access changes, and by what must not straddle a change (subscribing).
        self.access_lock = asyncio.Lock()
        self.admitted = False
        self.close_code: int | None = None
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.connect":
                    await self.connect()
                elif kind == "websocket.receive" and not self.closing:
                    await self.websocket_receive(message)
                elif kind == "websocket.disconnect":
                    self.close_code = self.close_code or message.get("code")
                    return
        finally:
            self._end()

    def _end(self) -> None:
        self.closing = True
        self.outbox.cancel()
        for task in self.timers.values():
            task.cancel()
        self.timers.clear()
        auditing.closed(self, self.close_code)
        if self.admitted:
            self.admitted = False
            hub.disconnect(self)
            admission.release(self)

    async def take_slot(self, arrival: Arrival) -> bool:
        """Accept the handshake and ask admission for a slot (refused: closed with its code);
        admitted, the socket hears the hub's status first."""
        await self.accept()
        self.outbox.writer = direct_writer(self.base_send)
        refusal = admission.admit(self, arrival)
        if refusal is not None:
            auditing.admission_refused(self, refusal)
            await self.close(code=refusal)
            return False
        self.admitted = True
        telemetry.connections_total.inc()
        await hub.start()
        hub.connect(self)
        await self.send_message(hub.status_message())
        return True

    def wait_for_authenticate(self) -> None:
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
        self.close_code = code or 1000
        for name in list(self.timers):
            if self.timers[name] is not asyncio.current_task():
                self._cancel(name)
        try:
            await self.base_send({"type": "websocket.close", "code": code or 1000})
        except Exception as exc:  # the socket went away first
            logger.debug("close of a socket already gone: %s", exc)

    def fail(self, exc: Exception) -> None:
        """Writing an update to this socket raised: it is closed with 1011 through ASGI, and the
        writer that failed is not used again (nor, after an AttributeError, any other)."""
        logger.warning("closing a socket whose write failed: %s: %s", type(exc).__name__, exc)
        telemetry.socket_write_failures.inc()
        if isinstance(exc, AttributeError):
            disable_direct_writes(f"{type(exc).__name__}: {exc}")
        self.outbox.writer = None
        self.outbox.cancel()
        asyncio.ensure_future(self.close(code=protocol.CLOSE_INTERNAL_ERROR))

    def _stop_sending(self) -> None:
        """The outbox closed this socket itself (too slow): nothing more goes out."""
        self.closing = True

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

    def write_now(self, frame: bytes) -> bool:
        """A status frame from the hub, written at once if the socket has a direct writer
        (True also when the socket is closing: nothing goes out then)."""
        return self.closing or self.outbox.write_now(frame)

    def offer(self, updates: list[Update], frames: FrameCache) -> int:
        """Updates from the hub (never awaited); how many frames went out at once."""
        if self.paused or self.closing:
            return 0
        return self.outbox.offer(updates, frames)

    async def _send_current(self, metrics: list[str], request_id: str | None = None) -> None:
        """Send the current value of subscribed metrics, never older than what was sent: one
        `dashboard_updates` for a client that asked for them, else a `dashboard_update` each."""
        scope = self.access.scope
        current = []
        for metric in live_order(metrics):
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
                continue
            wire = value.to_update()
            latest = hub.latest(metric, scope)
            if latest is not None and latest.version > value.version:
                wire = latest.wire
            current.append((metric, wire))
        # From here to the writes nothing waits. The hub writes its flushes straight to the
        # socket while the reads above wait; a value taken as sent before them would reach the
        # client after a newer one.
        updates = [Update.of(m, wire) for m, wire in current if self.subscriptions.record(m, wire)]
        if updates and not self.closing:
            await self.outbox.send(updates, request_id)

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
