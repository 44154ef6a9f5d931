"""Where a message enters: the dashboard WebSocket consumer (an adapter).

It parses frames with live/sockets/protocol.py, asks accounts.policy (through the
Access it holds) and the metric selectors and services, and replies, one
`handle_<type>` per client event. Signing in is live/sockets/signin.py's; the
socket's life and its sending side are live/sockets/websocket.py's.
"""

from __future__ import annotations

import logging
from typing import Any

from metrics.acknowledgements import AlertForbidden, AlertNotFound, acknowledge_alert
from metrics.catalogue import METRICS
from metrics.selectors import (
    HistoricalThrottled,
    MetricUnavailable,
    get_historical,
    get_snapshot,
)
from metrics.timerange import TimeRangeError, parse_time_range
from metrics.values import iso_utc, now_iso
from runtime import telemetry
from runtime.off_loop import off_loop

from . import auditing, protocol
from .hub import hub
from .protocol import ClientMessage, ProtocolError
from .signin import SigningInSocket

logger = logging.getLogger("dashboard.ws")

AUTH_TIMEOUT_SECONDS = 10.0
EXPIRY_GRACE_SECONDS = 10.0
MAX_AUTH_FAILURES = 3


class DashboardConsumer(SigningInSocket):
    # --- receiving ----------------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        text = text_data or ""
        size = len(bytes_data) if bytes_data is not None else len(text.encode("utf-8"))
        if size > protocol.MAX_FRAME_BYTES:
            # The servers refuse such frames before buffering them (live/sockets/servers.py); this
            # is the same rule for any other ASGI server.
            telemetry.errors.labels(kind="frame_too_big").inc()
            await self.close(code=protocol.CLOSE_TOO_BIG)
            return
        if not self.bucket.take():
            await self._refuse(text_data)
            return
        if bytes_data is not None:
            await self.send_message(
                protocol.error("invalid_message", "binary frames are not accepted")
            )
            return
        message = None
        try:
            message = protocol.parse_client_message(text)
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
                    message.request_id if message else None,
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

    async def _refuse(self, text_data: str | None) -> None:
        telemetry.errors.labels(kind="rate_limited").inc()
        if self.refusals.add():
            await self.close(code=protocol.CLOSE_POLICY_VIOLATION)
            return
        await self.send_message(
            protocol.error(
                "rate_limited",
                "too many messages: slow down",
                protocol.request_id_of(text_data),
                retryAfter=round(self.bucket.retry_after(), 3),
            )
        )

    async def _dispatch(self, message: ClientMessage) -> None:
        if message.type != "authenticate":
            if not self.signed_in:
                raise ProtocolError("not_authenticated", "authenticate first", message.request_id)
            if self.paused:
                raise ProtocolError(
                    "not_authenticated", "the token expired: authenticate again", message.request_id
                )
        await getattr(self, f"handle_{message.type}")(message)

    # --- subscriptions ------------------------------------------------------------------------------
    async def _send_subscriptions(self, request_id: str | None) -> None:
        await self.send_message(
            protocol.with_request_id(
                {"type": "subscriptions", "metrics": self.subscriptions.names()}, request_id
            )
        )

    async def handle_subscribe_metrics(self, message: ClientMessage) -> None:
        async with self.access_lock:  # wholly before or after an access change
            await self._subscribe(message)

    async def _subscribe(self, message: ClientMessage) -> None:
        unknown = _unknown(message.metrics)
        forbidden = [m for m in message.metrics if m not in unknown and not self.access.can_see(m)]
        new = [
            m
            for m in message.metrics
            if m not in unknown and m not in forbidden and self.subscriptions.add(m)
        ]
        for metric in new:
            hub.join(self, metric, self.access.scope)
        auditing.read(self, "subscription", new)
        if forbidden:
            auditing.read_refused(self, "subscription", forbidden, "forbidden")
        await self._refused(unknown, forbidden, message.request_id)
        await self._send_subscriptions(message.request_id)
        if new:
            await self._send_current(new, message.request_id)

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
        async with self.access_lock:  # values of one scope, wholly before or after a change
            snapshot = await off_loop(get_snapshot)(self.access)
            metrics: dict[str, Any] = {
                metric: self.subscriptions.newest(metric, wire)
                for metric, wire in snapshot["metrics"].items()
            }
            auditing.read(self, "snapshot", list(metrics))
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
        auditing.read(self, "historical", ["historical"])
        await self.send_message(
            protocol.with_request_id({"type": "historical_data", **result}, message.request_id)
        )

    async def handle_acknowledge_alert(self, message: ClientMessage) -> None:
        if not self.access.may_acknowledge:
            who = "a display" if self.access.is_display else "this user"
            auditing.acknowledgement(self, message.alert_id, "refused", reason="read_only")
            raise ProtocolError(
                "forbidden", f"{who} may not acknowledge alerts", message.request_id
            )
        try:
            acknowledgement = await off_loop(acknowledge_alert)(
                access=self.access, alert_id=message.alert_id
            )
        except AlertNotFound:
            auditing.acknowledgement(self, message.alert_id, "failure", reason="not_found")
            raise ProtocolError(
                "alert_not_found", "no open emergency alert with that id", message.request_id
            ) from None
        except AlertForbidden:
            auditing.acknowledgement(
                self, message.alert_id, "refused", reason="outside_departments"
            )
            raise ProtocolError(
                "forbidden", "that alert is outside this user's departments", message.request_id
            ) from None
        auditing.acknowledgement(
            self,
            acknowledgement.alert_id,
            "success",
            department=acknowledgement.department_id,
            firstBy=acknowledgement.acknowledged_by_username,
        )
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
