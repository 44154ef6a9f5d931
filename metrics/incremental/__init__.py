"""Incremental forms of the live metrics: a state built once, then folded change by change.

`IncrementalMetrics` holds every live metric's state (metrics/incremental/state.py);
`differences` compares two base values (the verification against the full aggregation).
"""

from .state import IncrementalMetrics, readers, window_at
from .verification import comparable, differences

__all__ = [
    "IncrementalMetrics",
    "comparable",
    "differences",
    "readers",
    "window_at",
]
