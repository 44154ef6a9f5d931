"""Names for channel-layer groups and process-local fan-out groups.

Between server processes the channel layer carries each metric's base value
(all departments) to one group per metric; only server processes subscribe.
Inside a process, sockets are grouped per metric x scope (see live/hub.py), so
a socket only ever receives values computed over the departments it may see.
"""

GROUP_PREFIX = "dashboard"


def metric_group(metric: str) -> str:
    """The channel-layer group that carries `metric`'s base value to every server process."""
    return f"{GROUP_PREFIX}.metric.{metric}"
