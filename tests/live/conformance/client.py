"""A real `websockets` client for the conformance suite, and the checks every case shares.

Every frame a client receives is kept, so that each test can validate all the
server's messages against the AsyncAPI document the server publishes.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from typing import Any

import websockets
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.servers import LiveServer

RECEIVED: list[dict] = []  # every server message of the current test


class Client:
    def __init__(self, server: LiveServer, *, origin: str | None = None, sock: Any = None) -> None:
        self.server = server
        self.origin = origin or server.url
        self.sock = sock  # a connected TCP socket to use (a small receive window, say)
        self.ws: Any = None
        self.skipped: list[dict] = []  # read while waiting for something else, in order

    async def __aenter__(self) -> Client:
        extra = {"sock": self.sock} if self.sock is not None else {}
        self.ws = await websockets.connect(
            self.server.ws_url, origin=self.origin, max_size=None, open_timeout=10, **extra
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def send(self, message: dict | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def receive(self, timeout: float = 10.0) -> dict:
        async with asyncio.timeout(timeout):
            message = json.loads(await self.ws.recv())
        RECEIVED.append(message)
        return message

    async def expect(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict:
        """The first message of `kind` whose fields equal `fields`, skipped ones included."""

        def matches(message: dict) -> bool:
            return message["type"] == kind and all(message.get(k) == v for k, v in fields.items())

        for position, message in enumerate(self.skipped):
            if matches(message):
                return self.skipped.pop(position)
        async with asyncio.timeout(timeout):
            while True:
                message = await self.receive(timeout)
                if matches(message):
                    return message
                self.skipped.append(message)

    async def request(self, message: dict, kind: str, timeout: float = 10.0) -> dict:
        """Send `message` with a requestId; the reply of `kind` must echo it."""
        request_id = f"r-{id(message)}"
        await self.send({**message, "requestId": request_id})
        reply = await self.expect(kind, timeout, requestId=request_id)
        return reply

    async def authenticate(self, token: str, **options: Any) -> dict:
        await self.expect("connection_status")
        message = {"type": "authenticate", "token": token, **options}
        return await self.request(message, "authenticated")

    async def close_code(self, timeout: float = 15.0) -> int:
        """Read until the server closes; the code it sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    RECEIVED.append(json.loads(await self.ws.recv()))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None, "the server dropped the connection without a close"
            return closed.rcvd.code


def gauge(server: LiveServer, name: str) -> float:
    """A Prometheus gauge of the server process, read from its /metrics."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


async def connections_back_to(server: LiveServer, expected: float, timeout: float = 10.0) -> None:
    """Wait until dashboard_ws_connections_active is `expected` again; fail if it stays off."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        active = await asyncio.to_thread(gauge, server, "dashboard_ws_connections_active")
        if active == expected:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{active:g} connections active, expected {expected:g}")
        await asyncio.sleep(0.2)


class ProtocolDocument:
    """The server's /api/asyncapi/ as a validator of the messages it sends and receives."""

    URI = "urn:dashboard:asyncapi"

    def __init__(self, document: dict) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT7)
        self.registry = Registry().with_resource(self.URI, resource)

    def validator(self, component: str) -> Draft7Validator:
        schema = {"$ref": f"{self.URI}#/components/schemas/{component}"}
        return Draft7Validator(schema, registry=self.registry)

    def problems(self, messages: list[dict], component: str = "ServerMessage") -> list[str]:
        """Every message that does not validate, with the reason."""
        validator = self.validator(component)
        return [
            f"{json.dumps(message)[:300]}: {error.message[:300]}"
            for message in messages
            if (error := next(validator.iter_errors(message), None)) is not None
        ]
