"""One serving process of `manage.py serve`: what it starts once its server accepts connections
(the hub, the garbage collector's upkeep, the worker's heartbeat, the instance's announcement in
the registry, the listener when it runs here) and what it stops before the end.

The one module that puts both halves of live in one process: the socket side (live/sockets/)
and, where configured, the change-stream listener (live/stream/).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from runtime.dependencies import redis_configured

if TYPE_CHECKING:
    from .stream.listener import ChangeListener

logger = logging.getLogger("dashboard.serve")
# Start-up logs a screenful (the listener's first resync, the simulator): say where to go again
# once it has settled, so the address and logins are on screen when someone looks.
BANNER_AGAIN_SECONDS = 8


class ServingProcess:
    """What one serving process starts once its server accepts connections (the hub, the
    collector's upkeep, its announcement in the registry, the listener if it runs here) and
    stops before the end."""

    def __init__(
        self,
        *,
        address: str,
        worker: bool,
        run_listener: bool,
        simulator: subprocess.Popen | None,
        banner: Callable[[], None],
    ) -> None:
        self.address = address
        self.worker = worker  # one of several: its supervisor announces the instance
        self.run_listener = run_listener
        self.simulator = simulator
        self.banner = banner
        self.listener: ChangeListener | None = None
        self.listener_task: asyncio.Task | None = None
        self.heartbeat: asyncio.Task | None = None

    def ready(self) -> None:
        from runtime.collector import collector

        from .sockets.hub import hub

        loop = asyncio.get_event_loop()
        loop.create_task(hub.start())
        loop.create_task(collector.run())
        if self.worker:
            from .sockets.board import heartbeat_forever, instance_board, worker_index

            self.heartbeat = loop.create_task(heartbeat_forever(instance_board(), worker_index()))
        if redis_configured() and not self.worker:
            from .sockets.admission import admission
            from .sockets.registry import announce_forever

            loop.create_task(announce_forever(self.address, lambda: admission.active))
        if self.run_listener:
            from .stream.listener import build_listener

            self.listener = build_listener()
            self.listener_task = loop.create_task(self.listener.run())
        if not self.worker:
            self.banner()
            loop.call_later(BANNER_AGAIN_SECONDS, self.banner)

    async def shutdown(self) -> None:
        """Inside the loop, before it stops: the listener flushes, saves its checkpoint and
        releases its lease (a standby takes over at once); the simulator stops."""
        listener, self.listener = self.listener, None
        if listener is not None and self.listener_task is not None:
            listener.stop()
            try:
                await asyncio.wait_for(self.listener_task, 10)
            except Exception as exc:
                logger.warning("listener did not stop cleanly: %s", exc)
        stop_simulator(self.simulator)

    def finish(self) -> None:
        """After the server: what shutdown() did not get to (the loop ended first)."""
        if self.listener is not None:
            self.listener.stop()
        stop_simulator(self.simulator)


def stop_simulator(simulator: subprocess.Popen | None) -> None:
    if simulator is not None and simulator.poll() is None:
        simulator.send_signal(signal.SIGTERM)
        try:
            simulator.wait(timeout=5)
        except subprocess.TimeoutExpired:
            simulator.kill()
