"""Where a message enters: the dashboard WebSocket consumer (an adapter).

It parses frames with live/protocol.py, asks accounts.policy (through the
Access it holds) and the metric services, and replies. Fan-out of updates is
the hub's (live/hub.py): a socket needs no channel-layer channel of its own,
so none is opened (one Redis subscription per socket would be pure cost, and
would fail handshakes while Redis is away).

A socket's life is `__call__`: whatever ends it (the client, the server, an
error, a stopping server), its slot, its hub membership and its timers are
released in one `finally`. Once the server closes a socket, frames already
queued are dropped unread and nothing more is sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.policy import Access
from accounts.tokens import validate_access_token
from dashboard_project import telemetry
from metrics.acknowledgements import AlertForbidden, AlertNotFound, acknowledge_alert
from metrics.catalogue import METRICS
from metrics.selectors import (
    HistoricalThrottled,
    MetricUnavailable,
    get_historical,
    get_live_value,
    get_snapshot,
)
from metrics.timerange import TimeRangeError, parse_time_range
from metrics.values import iso_utc, now_iso

from . import protocol, revalidation
from .admission import admission
from .hub import hub
from .off_loop import off_loop
from .protocol import ClientMessage, ProtocolError
from .ratelimit import RefusalWindow, TokenBucket
from .subscriptions import SocketSubscriptions, live_order

logger = logging.getLogger("dashboard.ws")

AUTH_TIMEOUT_SECONDS = 10.0
EXPIRY_GRACE_SECONDS = 10.0
MAX_AUTH_FAILURES = 3


class DashboardConsumer(AsyncWebsocketConsumer):
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

    # --- receiving ----------------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(bytes_data) if bytes_data is not None else len(text_data.encode("utf-8"))
        if size > protocol.MAX_FRAME_BYTES:
            # The servers refuse such frames before buffering them (live/servers.py); this
            # is the same rule for any other ASGI server.
            telemetry.errors.labels(kind="frame_too_big").inc()
            await self.close(code=protocol.CLOSE_TOO_BIG)
            return
        if not self.bucket.take():
            await self._refuse()
            return
        if bytes_data is not None:
            await self.send_message(
                protocol.error("invalid_message", "binary frames are not accepted")
            )
            return
        message = None
        try:
            message = protocol.parse_client_message(text_data)
            telemetry.messages_in.labels(type=message.type).inc()
            await self._dispatch(message)
        except ProtocolError as exc:
            telemetry.messages_in.labels(type="invalid").inc()
            await self.send_message(
                protocol.error(exc.code, exc.message, exc.request_id, **exc.extra)
            )
        except MetricUnavailable as exc:
            # MongoDB is down and nothing is known yet: an answer the client can act on.
            await self.send_message(
                protocol.error(
                    exc.code,
                    "the hospital database is unreachable and no value is known yet",
                    message.request_id,
                    metrics=exc.metrics,
                )
            )
        except Exception:
            telemetry.errors.labels(kind="handler").inc()
            logger.exception("error handling a dashboard message")
            await self.send_message(
                protocol.error(
                    "server_error",
                    "the server could not handle that",
                    message.request_id if message else None,
                )
            )

    async def _refuse(self) -> None:
        telemetry.errors.labels(kind="rate_limited").inc()
        if self.refusals.add():
            await self.close(code=protocol.CLOSE_POLICY_VIOLATION)
            return
        await self.send_message(
            protocol.error(
                "rate_limited",
                "too many messages: slow down",
                retryAfter=round(self.bucket.retry_after(), 3),
            )
        )

    async def _dispatch(self, message: ClientMessage) -> None:
        if message.type != "authenticate":
            if self.access is None:
                raise ProtocolError("not_authenticated", "authenticate first", message.request_id)
            if self.paused:
                raise ProtocolError(
                    "not_authenticated", "the token expired: authenticate again", message.request_id
                )
        await getattr(self, f"handle_{message.type}")(message)

    # --- authentication -----------------------------------------------------------------------------
    async def handle_authenticate(self, message: ClientMessage) -> None:
        check = await database_sync_to_async(validate_access_token)(message.token)
        if not check.ok:
            self.auth_failures += 1
            telemetry.errors.labels(kind="auth_failed").inc()
            await self.send_message(protocol.auth_error(check.error, message.request_id))
            if self.auth_failures >= MAX_AUTH_FAILURES:
                await self.close(code=protocol.CLOSE_AUTH_FAILED)
            return
        was_paused = self.paused
        self._cancel("auth")
        self._cancel("grace")
        self.paused = False
        admission.signed_in(self)
        await self._apply_access(check.access)
        if check.expires_at is not None:
            delay = (check.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            self._schedule("expiry", max(0.0, delay), self._token_expired)
        if "revalidate" not in self.timers:
            self.timers["revalidate"] = asyncio.create_task(self._revalidate_loop())
        access = self.access
        await self.send_message(
            protocol.with_request_id(
                {
                    "type": "authenticated",
                    "success": True,
                    "user": {"id": access.user_id, "username": access.username},
                    "level": access.level,
                    "departments": sorted(access.departments),
                    "metrics": access.live_metrics,
                    "expiresAt": iso_utc(check.expires_at) if check.expires_at else None,
                },
                message.request_id,
            )
        )
        if was_paused:
            for metric in self.subscriptions.names():
                await self._send_current(metric)

    async def _apply_access(self, access: Access) -> None:
        """Take a (re)loaded access: leave what it may no longer see, move to its scope."""
        previous = self.access
        self.access = access
        if previous is None:
            return
        changed = False
        for metric in self.subscriptions.names():
            if not access.can_see(metric):
                hub.leave(self, metric, previous.scope)
                self.subscriptions.discard(metric)
                changed = True
            elif access.scope != previous.scope:
                hub.leave(self, metric, previous.scope)
                hub.join(self, metric, access.scope)
                self.subscriptions.restart_versions(metric)
                changed = True
        if changed:
            await self._send_subscriptions(None)
            for metric in self.subscriptions.names():
                await self._send_current(metric)

    async def _token_expired(self) -> None:
        self.paused = True
        await self.send_message(protocol.auth_error("token_expired"))
        self._schedule("grace", EXPIRY_GRACE_SECONDS, self._close_unauthenticated)

    async def _close_unauthenticated(self) -> None:
        await self.close(code=protocol.CLOSE_AUTH_FAILED)

    async def _revalidate_loop(self) -> None:
        """Re-read the user's level, departments and active flag (README: within 60 s)."""
        delay = revalidation.first_delay()
        while not self.closing:
            await asyncio.sleep(delay)
            delay = revalidation.period()
            try:
                access = await revalidation.access_reloader.reload(self.access.user_id)
            except Exception as exc:  # the database is away: keep the access, try next period
                logger.warning("re-validating user %s failed: %s", self.access.user_id, exc)
                continue
            if not access.has_dashboard_access:
                reason = "user_inactive" if not access.is_active else "no_dashboard_access"
                await self.send_message(protocol.auth_error(reason))
                await self.close(code=protocol.CLOSE_ACCESS_REVOKED)
                return
            if access != self.access:
                await self._apply_access(access)

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

    # --- subscriptions ------------------------------------------------------------------------------
    async def _send_subscriptions(self, request_id: str | None) -> None:
        await self.send_message(
            protocol.with_request_id(
                {"type": "subscriptions", "metrics": self.subscriptions.names()}, request_id
            )
        )

    async def handle_subscribe_metrics(self, message: ClientMessage) -> None:
        unknown = _unknown(message.metrics)
        forbidden = [m for m in message.metrics if m not in unknown and not self.access.can_see(m)]
        new = [
            m
            for m in message.metrics
            if m not in unknown and m not in forbidden and self.subscriptions.add(m)
        ]
        for metric in new:
            hub.join(self, metric, self.access.scope)
        await self._refused(unknown, forbidden, message.request_id)
        await self._send_subscriptions(message.request_id)
        for metric in live_order(new):
            await self._send_current(metric, message.request_id)

    async def handle_unsubscribe_metrics(self, message: ClientMessage) -> None:
        for metric in message.metrics:
            if self.subscriptions.discard(metric):
                hub.leave(self, metric, self.access.scope)
        await self._refused(_unknown(message.metrics), [], message.request_id)
        await self._send_subscriptions(message.request_id)

    async def _refused(self, unknown: list[str], forbidden: list[str], request_id) -> None:
        if unknown:
            await self.send_message(
                protocol.error("unknown_metric", "no such live metric", request_id, metrics=unknown)
            )
        if forbidden:
            await self.send_message(
                protocol.error(
                    "forbidden", "not allowed for this user", request_id, metrics=forbidden
                )
            )

    # --- data requests ------------------------------------------------------------------------------
    async def handle_request_snapshot(self, message: ClientMessage) -> None:
        snapshot = await off_loop(get_snapshot)(self.access)
        metrics: dict[str, Any] = {
            metric: self.subscriptions.newest(metric, wire)
            for metric, wire in snapshot["metrics"].items()
        }
        await self.send_message(
            protocol.with_request_id(
                {"type": "metrics_snapshot", "metrics": metrics}, message.request_id
            )
        )

    async def handle_request_historical(self, message: ClientMessage) -> None:
        start_text, end_text = message.time_range
        try:
            start, end = parse_time_range(start_text, end_text)
        except TimeRangeError as exc:
            raise ProtocolError(exc.code, exc.message, message.request_id) from None
        try:
            result = await off_loop(get_historical)(self.access, start, end)
        except HistoricalThrottled as exc:
            raise ProtocolError(
                "rate_limited", str(exc), message.request_id, retryAfter=exc.retry_after
            ) from None
        await self.send_message(
            protocol.with_request_id({"type": "historical_data", **result}, message.request_id)
        )

    async def handle_acknowledge_alert(self, message: ClientMessage) -> None:
        if not self.access.privileged:
            raise ProtocolError(
                "forbidden", "this user may not acknowledge alerts", message.request_id
            )
        try:
            acknowledgement = await off_loop(acknowledge_alert)(
                access=self.access, alert_id=message.alert_id
            )
        except AlertNotFound:
            raise ProtocolError(
                "alert_not_found", "no open emergency alert with that id", message.request_id
            ) from None
        except AlertForbidden:
            raise ProtocolError(
                "forbidden", "that alert is outside this user's departments", message.request_id
            ) from None
        await self.send_message(
            protocol.with_request_id(
                {
                    "type": "alert_acknowledged",
                    "alertId": acknowledgement.alert_id,
                    "acknowledgedBy": acknowledgement.acknowledged_by_username,
                    "acknowledgedAt": iso_utc(acknowledgement.acknowledged_at),
                },
                message.request_id,
            )
        )

    async def handle_ping(self, message: ClientMessage) -> None:
        await self.send_message(
            protocol.with_request_id({"type": "pong", "serverTime": now_iso()}, message.request_id)
        )


def _unknown(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in METRICS or not METRICS[name].live]
