"""Where updates leave: one channel-layer message per changed metric, to every server process."""

from __future__ import annotations

import logging

from channels.layers import get_channel_layer

from metrics.values import MetricValue

from .groups import metric_group

logger = logging.getLogger("dashboard.broadcast")


async def broadcast_value(value: MetricValue) -> None:
    """Send a metric's base value (all departments) to every server process's hub."""
    await get_channel_layer().group_send(metric_group(value.metric), value.to_message())
