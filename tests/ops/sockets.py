"""Real dashboard sockets for the operations tests: each records every message with its time."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from metrics.catalogue import LIVE_METRICS
from tests.servers import LiveServer


def versions_gone_back(updates: list[dict]) -> list[tuple[dict, dict]]:
    """(held, received) for each `dashboard_update` that broke the never-older rule: a version
    below the one held for its metric, or the same version with the same contents (data and
    stale flag: the same database state computed again is sent only when it reads otherwise).
    Empty: the rule held."""
    last: dict[str, dict] = {}
    broken = []
    for message in updates:
        held = last.get(message["metric"])
        if held is not None and (
            message["version"] < held["version"]
            or (
                message["version"] == held["version"]
                and (message["data"], message["stale"]) == (held["data"], held["stale"])
            )
        ):
            broken.append((held, message))
        last[message["metric"]] = message
    return broken


class RecordingSocket:
    """A signed-in socket subscribed to every live metric; `messages` holds (monotonic, message)."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server, self.token = server, token
        self.messages: list[tuple[float, dict]] = []
        self.ready, self.done = asyncio.Event(), asyncio.Event()
        self.task: asyncio.Task | None = None

    def start(self) -> RecordingSocket:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        async with websockets.connect(self.server.ws_url, origin=self.server.url) as ws:
            await ws.send(json.dumps({"type": "authenticate", "token": self.token}))
            subscribe = {"type": "subscribe_metrics", "metrics": list(LIVE_METRICS)}
            await ws.send(json.dumps(subscribe))
            self.ready.set()
            while not self.done.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.25)
                except TimeoutError:
                    continue
                self.messages.append((time.monotonic(), json.loads(frame)))

    async def close(self) -> None:
        self.done.set()
        if self.task is not None:
            await self.task

    def updates(self, after: float = 0.0) -> list[tuple[float, dict]]:
        return [
            (at, m) for at, m in self.messages if m["type"] == "dashboard_update" and at > after
        ]

    def statuses(self, after: float = 0.0) -> list[tuple[float, dict]]:
        return [
            (at, m) for at, m in self.messages if m["type"] == "connection_status" and at > after
        ]

    def first_status(self, status: str, after: float = 0.0) -> float | None:
        return next((at for at, m in self.statuses(after) if m["status"] == status), None)

    def latest(self) -> dict[str, dict]:
        """The last value received of each metric."""
        return {m["metric"]: m["data"] for _, m in self.updates()}

    def latest_updates(self) -> dict[str, dict]:
        """The last update received of each metric (data, updatedAt, stale, version)."""
        return {m["metric"]: m for _, m in self.updates()}

    def versions_gone_back(self) -> list[tuple[dict, dict]]:
        return versions_gone_back([m for _, m in self.updates()])

    def errors(self) -> list[dict]:
        return [m for _, m in self.messages if m["type"] == "error"]


async def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()
