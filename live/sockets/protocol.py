"""The WebSocket protocol (docs/websocket-api.md): validating client messages, naming every error.

The consumer hands each text frame to `parse_client_message` and gets either
a `ClientMessage` or a `ProtocolError` carrying the contract's error code.
Server messages are built by the small functions at the bottom and
serialized once with `encode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from metrics.values import now_iso

MAX_FRAME_BYTES = 16 * 1024
MAX_REQUEST_ID = 64
MAX_METRIC_NAMES = 32
MAX_NAME_LENGTH = 64

# Every error code the server sends in an `error` message.
ERROR_CODES = frozenset(
    {
        "not_authenticated",
        "invalid_json",
        "invalid_message",
        "unknown_event",
        "unknown_metric",
        "forbidden",
        "rate_limited",
        "invalid_time_range",
        "time_range_order",
        "time_range_too_long",
        "time_range_in_future",
        "alert_not_found",
        "metrics_unavailable",
        "server_error",
    }
)
# The `error` values of `auth_error`.
# `invalid_ticket`: the handshake's ticket was refused; the socket stays open, waiting for
# `authenticate` as if it had come without one.
# `different_user`: `authenticate` on a signed-in socket with a valid token of another user;
# refused, the socket stays signed in as it was (its subscriptions and token expiry unchanged).
AUTH_ERRORS = frozenset(
    {
        "invalid_token",
        "token_expired",
        "user_inactive",
        "no_dashboard_access",
        "invalid_ticket",
        "different_user",
    }
)

CLIENT_EVENTS = (
    "authenticate",
    "subscribe_metrics",
    "unsubscribe_metrics",
    "request_snapshot",
    "request_historical",
    "acknowledge_alert",
    "ping",
)

# Close codes.
CLOSE_AUTH_FAILED = 4001
CLOSE_ACCESS_REVOKED = 4003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TOO_SLOW = 4008
# Over a fair share: too many sockets for this user or this address (like HTTP 429).
CLOSE_OVER_SHARE = 4029


class ProtocolError(Exception):
    """A client message the server refuses; becomes an `error` reply, never a close."""

    def __init__(self, code: str, message: str, request_id: str | None = None, **extra: Any):
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.extra = extra


@dataclass(frozen=True)
class ClientMessage:
    type: str
    request_id: str | None = None
    token: str = ""
    metrics: tuple[str, ...] = ()
    time_range: tuple[str, str] = ("", "")
    alert_id: str = ""
    batch: bool = False
    extra: dict = field(default_factory=dict)


def _request_id(payload: dict) -> str | None:
    value = payload.get("requestId")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_REQUEST_ID:
        raise ProtocolError(
            "invalid_message", f"requestId must be a string of at most {MAX_REQUEST_ID} characters"
        )
    return value


def request_id_of(text: str | None) -> str | None:
    """The requestId of a frame refused unread (rate limited), so that the client can match
    the refusal to its request; None when there is no valid one."""
    try:
        payload = orjson.loads(text) if text else None
        return _request_id(payload) if isinstance(payload, dict) else None
    except (orjson.JSONDecodeError, ProtocolError):
        return None


def _string(payload: dict, name: str, request_id: str | None, max_length: int) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ProtocolError(
            "invalid_message",
            f"'{name}' must be a non-empty string of at most {max_length} characters",
            request_id,
        )
    return value


def _metric_names(payload: dict, request_id: str | None) -> tuple[str, ...]:
    names = payload.get("metrics")
    if (
        not isinstance(names, list)
        or not names
        or len(names) > MAX_METRIC_NAMES
        or not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME_LENGTH for n in names)
    ):
        raise ProtocolError(
            "invalid_message",
            f"'metrics' must be a non-empty list of at most {MAX_METRIC_NAMES} metric names",
            request_id,
        )
    return tuple(dict.fromkeys(names))  # de-duplicated, order kept


def parse_client_message(text: str) -> ClientMessage:
    """Validate one text frame; raise ProtocolError with the contract's code if it is not valid."""
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("invalid_json", "frame is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ProtocolError("invalid_message", "a message must be a JSON object")
    request_id = _request_id(payload)
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_message", "'type' must be a string", request_id)
    if kind not in CLIENT_EVENTS:
        raise ProtocolError("unknown_event", f"unknown event type {kind[:64]!r}", request_id)
    if kind == "authenticate":
        batch = payload.get("batch", False)
        if not isinstance(batch, bool):
            raise ProtocolError("invalid_message", "'batch' must be true or false", request_id)
        token = _string(payload, "token", request_id, 4096)
        return ClientMessage(kind, request_id, token=token, batch=batch)
    if kind in ("subscribe_metrics", "unsubscribe_metrics"):
        return ClientMessage(kind, request_id, metrics=_metric_names(payload, request_id))
    if kind == "request_historical":
        time_range = payload.get("timeRange")
        if not isinstance(time_range, dict):
            raise ProtocolError(
                "invalid_message", "'timeRange' must be an object with start and end", request_id
            )
        start, end = time_range.get("start"), time_range.get("end")
        if (
            not isinstance(start, str)
            or not isinstance(end, str)
            or len(start) > 64
            or len(end) > 64
        ):
            raise ProtocolError(
                "invalid_message",
                "'timeRange.start' and 'timeRange.end' must be ISO 8601 strings",
                request_id,
            )
        return ClientMessage(kind, request_id, time_range=(start, end))
    if kind == "acknowledge_alert":
        return ClientMessage(kind, request_id, alert_id=_string(payload, "alertId", request_id, 64))
    return ClientMessage(kind, request_id)


# --- server messages ------------------------------------------------------------------------------
def encode(message: Any) -> str:
    """Serialize a server message (once; the same text goes to every socket it is for)."""
    return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()


def with_request_id(message: dict, request_id: str | None) -> dict:
    if request_id is not None:
        message["requestId"] = request_id
    return message


def error(code: str, message: str, request_id: str | None = None, **extra: Any) -> dict:
    assert code in ERROR_CODES, code
    return with_request_id({"type": "error", "code": code, "message": message, **extra}, request_id)


def auth_error(code: str, request_id: str | None = None) -> dict:
    assert code in AUTH_ERRORS, code
    return with_request_id({"type": "auth_error", "error": code}, request_id)


def connection_status(status: str, instance: str, detail: str | None = None) -> dict:
    message = {
        "type": "connection_status",
        "status": status,
        "instance": instance,
        "serverTime": now_iso(),
    }
    if detail:
        message["detail"] = detail
    return message


def dashboard_update(metric: str, wire: dict) -> dict:
    """`wire` is a MetricValue's wire form: data, updatedAt, stale (and version)."""
    return {"type": "dashboard_update", "metric": metric, **wire}


def access_changed(access_fields: dict) -> dict:
    """The user's new access on an open socket (kind, level, departments, metrics)."""
    return {"type": "access_changed", **access_fields}
