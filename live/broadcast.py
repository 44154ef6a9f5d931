"""Where updates leave: one channel-layer message per changed metric, to every server process."""

from __future__ import annotations

import logging

from channels.layers import get_channel_layer

from metrics.cache import MetricValue

from .groups import metric_group
from .hub import message_from_value

logger = logging.getLogger("dashboard.broadcast")


async def broadcast_value(value: MetricValue) -> None:
    """Send a metric's base value (all departments) to every server process's hub."""
    await get_channel_layer().group_send(metric_group(value.metric), message_from_value(value))
