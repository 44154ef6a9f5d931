"""Where updates leave: one channel-layer message per changed metric, to every server process."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.selectors import refresh_live_value
from metrics.values import MetricValue, channel_message
from runtime import telemetry

from ..groups import UPDATES_GROUP

logger = logging.getLogger("dashboard.broadcast")
ACKNOWLEDGED = [name for name in LIVE_METRICS if METRICS[name].hook("ACKNOWLEDGED", False)]


async def broadcast_values(values: list[MetricValue]) -> None:
    """Send base values (all departments) to every server process's hub, in one message: the
    values of one flush reach a socket together (one `dashboard_updates` frame if it asked)."""
    if values:
        await get_channel_layer().group_send(UPDATES_GROUP, channel_message(values))


async def broadcast_value(value: MetricValue) -> None:
    await broadcast_values([value])


def refresh_after_acknowledgement(sender: Any, **kwargs: Any) -> None:
    """A new acknowledgement committed: every subscriber of a metric that merges them in
    (`ACKNOWLEDGED`, metrics/definition.py: emergencyAlerts) sees it marked.

    Called in the worker thread that wrote it (metrics.acknowledgements), so the
    broadcast runs on the server's event loop through async_to_sync.
    """
    for metric in ACKNOWLEDGED:
        try:
            value, _ = refresh_live_value(metric)
            async_to_sync(broadcast_value)(value)
        except Exception as exc:  # stored all the same; the next change or poll carries it
            logger.warning("%s not refreshed after an acknowledgement: %s", metric, exc)
            continue
        telemetry.broadcasts.labels(metric=metric).inc()
