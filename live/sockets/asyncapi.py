"""The socket protocol as an AsyncAPI 3.0 document, served at /api/asyncapi/.

Every message in both directions has a JSON Schema here, built from the same
constants the server uses (event names, error codes, close codes, metric
names), and the metric values' schemas are the ones the OpenAPI document
(drf-spectacular, /api/schema/) describes for REST: one definition of each
value for both APIs. The conformance tests validate every message the server
sends against this document, so the two cannot drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from metrics import versions
from metrics.catalogue import LIVE_METRICS, METRICS

from . import protocol

REQUEST_ID = {"type": "string", "maxLength": protocol.MAX_REQUEST_ID}
INSTANT = {"type": "string", "format": "date-time"}
METRIC_NAMES = {
    "type": "array",
    "minItems": 1,
    "maxItems": protocol.MAX_METRIC_NAMES,
    "items": {"type": "string", "minLength": 1, "maxLength": protocol.MAX_NAME_LENGTH},
}
LIVE_METRIC = {"type": "string", "enum": list(LIVE_METRICS)}
# The OpenAPI component holding each live metric's `data` (declared by its module).
DATA_SCHEMAS = {metric: METRICS[metric].schema_name for metric in LIVE_METRICS}
UPDATE_FIELDS = {
    "updatedAt": INSTANT,
    "stale": {"type": "boolean"},
    "version": {
        "type": "integer",
        "minimum": 0,
        "maximum": versions.LIMIT - 1,
        "description": versions.DESCRIPTION,
    },
}
CLOSE_CODES = {
    protocol.CLOSE_POLICY_VIOLATION: "30 messages refused by the rate limit within a minute",
    protocol.CLOSE_TOO_BIG: f"a frame over {protocol.MAX_FRAME_BYTES} bytes",
    protocol.CLOSE_TRY_AGAIN_LATER: "the server is full, or a newer socket needed the slot of "
    "this one, which had not authenticated",
    protocol.CLOSE_AUTH_FAILED: "no authenticate within 10 s, three failed ones, or an expired "
    "token not renewed within 10 s",
    protocol.CLOSE_ACCESS_REVOKED: "the user lost dashboard access (after an auth_error)",
    protocol.CLOSE_TOO_SLOW: "the socket did not read its updates for "
    "DASHBOARD_SLOW_SOCKET_SECONDS (30 s)",
    protocol.CLOSE_OVER_SHARE: "over a fair share: too many sockets for this user, or from this "
    "address (signed in, or waiting to sign in)",
}


def _message(kind: str, fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict:
    """An object schema: `type` fixed to `kind`, the fields given, an optional requestId."""
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **fields, "requestId": REQUEST_ID},
        "required": ["type", *required],
        "additionalProperties": False,
    }


def client_messages() -> dict[str, dict]:
    return {
        "authenticate": _message(
            "authenticate",
            {"token": {"type": "string", "minLength": 1}, "batch": {"type": "boolean"}},
            ("token",),
        ),
        "subscribe_metrics": _message("subscribe_metrics", {"metrics": METRIC_NAMES}, ("metrics",)),
        "unsubscribe_metrics": _message(
            "unsubscribe_metrics", {"metrics": METRIC_NAMES}, ("metrics",)
        ),
        "request_snapshot": _message("request_snapshot", {}),
        "request_historical": _message(
            "request_historical",
            {
                "timeRange": {
                    "type": "object",
                    "properties": {"start": INSTANT, "end": INSTANT},
                    "required": ["start", "end"],
                }
            },
            ("timeRange",),
        ),
        "acknowledge_alert": _message(
            "acknowledge_alert",
            {"alertId": {"type": "string", "minLength": 1, "maxLength": 64}},
            ("alertId",),
        ),
        "ping": _message("ping", {}),
    }


def _ref(component: str) -> dict:
    return {"$ref": f"#/components/schemas/{component}"}


def _connection_status() -> dict:
    """What stands in the way of live values, sent on connect and on every change."""
    return _message(
        "connection_status",
        {
            "status": {"enum": ["connected", "degraded", "stale", "recovered"]},
            "instance": {"type": "string"},
            "serverTime": INSTANT,
            "detail": {
                "type": "string",
                "description": "What stands in the way, comma-separated codes: "
                "redis_unavailable (updates are polled), listener_down (no change-stream "
                "listener is active; updates are polled), mongodb_unreachable (values are "
                "the last known)",
            },
        },
        ("status", "instance", "serverTime"),
    )


# What a signed-in socket may see: in `authenticated`, and again in `access_changed`.
ACCESS_FIELDS: dict[str, Any] = {
    "kind": {
        "enum": ["user", "display"],
        "description": "a person, or a wall display (which never acknowledges alerts)",
    },
    "level": {"enum": ["super_admin", "admin", "viewer"]},
    "departments": {"type": "array", "items": {"type": "string"}},
    "metrics": {"type": "array", "items": LIVE_METRIC},
}


def _authenticated() -> dict:
    """The reply to a valid token: who the user is and what it may subscribe to."""
    return _message(
        "authenticated",
        {
            "success": {"const": True},
            "user": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "username": {"type": "string"}},
                "required": ["id", "username"],
                "additionalProperties": False,
            },
            **ACCESS_FIELDS,
            "expiresAt": {"type": ["string", "null"], "format": "date-time"},
        },
        ("success", "user", "kind", "level", "departments", "metrics", "expiresAt"),
    )


def _access_changed() -> dict:
    """The user's access changed on an open socket: sent before any value of the new scope."""
    message = _message("access_changed", dict(ACCESS_FIELDS), tuple(ACCESS_FIELDS))
    message["description"] = (
        "The signed-in user's level, departments or metrics changed while the socket is open. "
        "No value computed over the new departments comes before it, and none of a metric "
        "the user may no longer see comes after it; subscriptions to such metrics are dropped "
        "(a `subscriptions` message follows). A user who lost access gets `auth_error` and "
        "close 4003 instead."
    )
    return message


def _error() -> dict:
    """A refusal: a stable code, a sentence, and where it applies when to retry."""
    return _message(
        "error",
        {
            "code": {"enum": sorted(protocol.ERROR_CODES)},
            "message": {"type": "string"},
            "retryAfter": {"type": "number", "minimum": 0},
            "metrics": {"type": "array", "items": {"type": "string"}},
        },
        ("code", "message"),
    )


def server_messages() -> dict[str, dict]:
    updates = [
        _message(
            "dashboard_update",
            {"metric": {"const": metric}, "data": _ref(DATA_SCHEMAS[metric]), **UPDATE_FIELDS},
            ("metric", "data", *UPDATE_FIELDS),
        )
        for metric in LIVE_METRICS
    ]
    return {
        "connection_status": _connection_status(),
        "authenticated": _authenticated(),
        "access_changed": _access_changed(),
        "auth_error": _message(
            "auth_error", {"error": {"enum": sorted(protocol.AUTH_ERRORS)}}, ("error",)
        ),
        "subscriptions": _message(
            "subscriptions", {"metrics": {"type": "array", "items": LIVE_METRIC}}, ("metrics",)
        ),
        "dashboard_update": {"oneOf": updates},
        "dashboard_updates": _message(
            "dashboard_updates",
            {
                "updates": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"oneOf": [_without_type(update) for update in updates]},
                }
            },
            ("updates",),
        ),
        "metrics_snapshot": _message(
            "metrics_snapshot", {"metrics": _ref("SnapshotMetrics")}, ("metrics",)
        ),
        "historical_data": _message(
            "historical_data",
            {
                "timeRange": _ref("TimeRange"),
                "hourlyStats": {"type": "array", "items": _ref("HourlyStat")},
                "departmentMetrics": {"type": "array", "items": _ref("DepartmentMetric")},
            },
            ("timeRange", "hourlyStats", "departmentMetrics"),
        ),
        "alert_acknowledged": _message(
            "alert_acknowledged",
            {
                "alertId": {"type": "string"},
                "acknowledgedBy": {"type": "string"},
                "acknowledgedAt": INSTANT,
            },
            ("alertId", "acknowledgedBy", "acknowledgedAt"),
        ),
        "error": _error(),
        "pong": _message("pong", {"serverTime": INSTANT}, ("serverTime",)),
    }


def _without_type(message: dict) -> dict:
    """A message schema's object as an element of a batch: no `type`, no `requestId`."""
    properties = {k: v for k, v in message["properties"].items() if k not in ("type", "requestId")}
    required = [name for name in message["required"] if name != "type"]
    return {**message, "properties": properties, "required": required}


def _any_of(names) -> dict:
    return {"oneOf": [{"$ref": f"#/components/messages/{name}/payload"} for name in names]}


def _openapi_components() -> dict[str, Any]:
    """The metric value schemas of the OpenAPI document, as JSON Schema (nullable -> a type list)."""
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    return _json_schema(components)


def _json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
        if node.get("nullable") and "type" in node:
            converted["type"] = [node["type"], "null"]
        return converted
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


@cache
def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of /ws/dashboard/ (built once per process)."""
    receive, send = client_messages(), server_messages()
    # Server messages under their type, client messages under client_<type>.
    messages = {kind: {"name": kind, "payload": schema} for kind, schema in send.items()}
    messages |= {f"client_{kind}": {"name": kind, "payload": s} for kind, s in receive.items()}
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Hospital live dashboard: WebSocket protocol",
            "version": "1.0.0",
            "description": "JSON text frames on /ws/dashboard/, each an object with a `type`. "
            "Flow, limits and close codes: the README's WebSocket API section.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "dashboard": {
                "address": "/ws/dashboard/",
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "bindingVersion": "0.1.0",
                        "query": {
                            "type": "object",
                            "properties": {
                                "ticket": {
                                    "type": "string",
                                    "description": "A one-time ticket from POST /api/auth/ticket/ "
                                    "(30 s): the socket is signed in by its handshake and "
                                    "`authenticated` comes unasked; refused, `auth_error` "
                                    "`invalid_ticket` and the socket waits for `authenticate`.",
                                },
                                "batch": {
                                    "type": "string",
                                    "enum": ["true"],
                                    "description": "With a ticket: updates in "
                                    "`dashboard_updates` frames (as `authenticate`'s `batch`).",
                                },
                            },
                        },
                    }
                },
                "messages": channel_messages,
                "description": "Close codes: "
                + "; ".join(f"{code}: {why}" for code, why in CLOSE_CODES.items()),
                "x-close-codes": {str(code): why for code, why in CLOSE_CODES.items()},
            }
        },
        "operations": {
            "receiveClientMessage": {
                "action": "receive",
                "channel": {"$ref": "#/channels/dashboard"},
                "messages": [
                    {"$ref": f"#/channels/dashboard/messages/client_{kind}"} for kind in receive
                ],
            },
            "sendServerMessage": {
                "action": "send",
                "channel": {"$ref": "#/channels/dashboard"},
                "messages": [{"$ref": f"#/channels/dashboard/messages/{kind}"} for kind in send],
            },
        },
        "components": {
            "messages": messages,
            "schemas": {
                **_openapi_components(),
                # Any message one side may send: what a client (or a test) validates against.
                "ServerMessage": _any_of(send),
                "ClientMessage": _any_of(f"client_{kind}" for kind in receive),
            },
        },
    }
