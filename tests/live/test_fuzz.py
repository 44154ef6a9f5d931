"""Thousands of random frames: the connection stays usable, every reply is a contract message."""

from __future__ import annotations

import json
import logging

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live.sockets import protocol
from live.sockets import websocket as socket_module

from .conftest import authenticated

# Django's database only signs the fuzzing client in: the PostgreSQL pass leaves it out.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.incidental_database]

SERVER_TYPES = {
    "connection_status",
    "authenticated",
    "auth_error",
    "subscriptions",
    "dashboard_update",
    "metrics_snapshot",
    "historical_data",
    "error",
    "pong",
    "alert_acknowledged",
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
event_types = st.sampled_from(list(protocol.CLIENT_EVENTS) + ["", "x", "ping "]) | st.text(
    max_size=12
)
messages = st.fixed_dictionaries(
    {"type": event_types | json_values},
    optional={
        "metrics": json_values | st.lists(st.text(max_size=20), max_size=5),
        "timeRange": json_values,
        "alertId": json_values,
        "requestId": json_values,
        "token": json_values,
    },
)
frames = (
    messages.map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
)


def check_reply(message: dict) -> None:
    assert message["type"] in SERVER_TYPES, message
    if message["type"] == "error":
        assert message["code"] in protocol.ERROR_CODES
        assert message["code"] != "server_error", message
    if message["type"] == "auth_error":
        assert message["error"] in protocol.AUTH_ERRORS


@pytest.mark.slow
async def test_random_frames_never_break_the_connection(make_user, caplog, monkeypatch):
    # The rate limit would answer most frames; it has its own test.
    monkeypatch.setattr(socket_module.TokenBucket, "take", lambda self: True)
    user = await database_sync_to_async(make_user)("fuzz", "admin", ["ER"])
    communicator = await authenticated(user)
    sent = 0

    @settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frame=frames)
    def collect(frame):
        collected.append(frame)

    collected: list[str] = []
    collect()
    caplog.set_level(logging.WARNING)
    for frame in collected:
        if frame.startswith('{"type": "authenticate"'):
            continue  # a failed authenticate counts toward the 4001 close, tested elsewhere
        await communicator.send_to(text_data=frame or " ")  # the test client cannot send ""
        sent += 1
        while not await communicator.receive_nothing(timeout=0.002):
            check_reply(await communicator.receive_json_from())
    await communicator.send_json_to({"type": "ping", "requestId": "still-there"})
    while True:
        reply = await communicator.receive_json_from(timeout=5)
        check_reply(reply)
        if reply.get("requestId") == "still-there":
            break
    assert reply["type"] == "pong"
    assert sent >= 1000
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    await communicator.disconnect()
