"""Facts about this serving process: its instance id."""

from __future__ import annotations

import os
import socket

from django.conf import settings

_instance_id: str | None = None


def instance_id() -> str:
    """This process's name in `connection_status` and the instance registry."""
    global _instance_id
    if _instance_id is None:
        _instance_id = settings.DASHBOARD_INSTANCE_ID or f"{socket.gethostname()}:{os.getpid()}"
    return _instance_id
