"""Facts about this serving process: its instance id and its connection count."""

from __future__ import annotations

import os
import socket
import threading

from django.conf import settings

_instance_id: str | None = None


def instance_id() -> str:
    """This process's name in `connection_status` and the instance registry."""
    global _instance_id
    if _instance_id is None:
        _instance_id = settings.DASHBOARD_INSTANCE_ID or f"{socket.gethostname()}:{os.getpid()}"
    return _instance_id


class ConnectionSlots:
    """At most DASHBOARD_MAX_CONNECTIONS sockets per process (the next one is closed with 1013)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= settings.DASHBOARD_MAX_CONNECTIONS:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active = max(0, self.active - 1)


slots = ConnectionSlots()
