"""Fixtures for WebSocket tests: users with levels, tokens, a communicator on the real ASGI app."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import DashboardProfile, Department
from live.sockets.admission import admission
from live.sockets.hub import hub
from live.stream.listener import ChangeListener

DEPARTMENTS = {"ER": "Emergency", "CARD": "Cardiology", "NEURO": "Neurology"}


@pytest.fixture(autouse=True)
async def fresh_hub():
    """The hub and the in-memory layer are per process: give each test (and event loop) new ones."""
    await hub.stop()
    hub.__init__()
    channel_layers.backends.clear()
    # Sockets a test left open (the server closed them; the communicator never said so).
    admission.reset()
    yield hub
    await hub.stop()
    hub.__init__()
    channel_layers.backends.clear()


@pytest.fixture
def departments(db):
    return {
        code: Department.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in DEPARTMENTS.items()
    }


@pytest.fixture
def make_user(db, departments):
    def make(username: str, level: str | None, codes=(), active: bool = True):
        user = get_user_model().objects.create_user(username, password="pw-" + username)
        user.is_active = active
        user.save()
        profile = DashboardProfile.objects.create(user=user, level=level or "")
        profile.departments.set([departments[c] for c in codes])
        return user

    return make


def token_for(user, lifetime: dt.timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def communicator_for(
    origin: bytes = b"http://127.0.0.1", host: bytes = b"127.0.0.1"
) -> WebsocketCommunicator:
    """A communicator on the real ASGI application, not connected yet."""
    from dashboard_project.asgi import application

    return WebsocketCommunicator(
        application, "/ws/dashboard/", headers=[(b"origin", origin), (b"host", host)]
    )


async def connect(origin: bytes = b"http://127.0.0.1") -> WebsocketCommunicator:
    communicator = communicator_for(origin)
    connected, _ = await communicator.connect()
    assert connected
    status = await communicator.receive_json_from()
    assert status["type"] == "connection_status"
    return communicator


async def authenticated(user, **kwargs) -> WebsocketCommunicator:
    communicator = await connect()
    await communicator.send_json_to({"type": "authenticate", "token": token_for(user, **kwargs)})
    reply = await communicator.receive_json_from()
    assert reply["type"] == "authenticated", reply
    return communicator


async def receive_until(communicator, predicate, timeout: float = 5.0, limit: int = 50) -> dict:
    """Read messages until one matches; heartbeats and other updates are skipped."""
    for _ in range(limit):
        message = await communicator.receive_json_from(timeout=timeout)
        if predicate(message):
            return message
    raise AssertionError("no matching message")


@pytest.fixture
async def listeners():
    running: list[tuple[ChangeListener, asyncio.Task]] = []

    async def start(name="test", **options) -> ChangeListener:
        options.setdefault("batch_interval", 0.05)
        listener = ChangeListener(name=name, **options)
        running.append((listener, asyncio.create_task(listener.run())))
        for _ in range(200):
            if listener.active:
                break
            await asyncio.sleep(0.025)
        return listener

    async def stop(listener: ChangeListener) -> None:
        for item in running:
            if item[0] is listener:
                listener.stop()
                await asyncio.wait_for(item[1], 10)
                running.remove(item)
                return

    start.stop = stop
    yield start
    for listener, task in running:
        listener.stop()
        await asyncio.wait_for(task, 10)
