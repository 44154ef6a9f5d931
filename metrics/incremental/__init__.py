"""Incremental forms of the live metrics: a state built once, then folded change by change.

`IncrementalMetrics` holds every live metric's state (metrics/incremental/state.py);
`differences` compares two base values (the verification against the full aggregation).
"""

from .state import METRIC_OF, IncrementalMetrics, window_at
from .verification import differences, without_acknowledgements

__all__ = [
    "METRIC_OF",
    "IncrementalMetrics",
    "differences",
    "window_at",
    "without_acknowledgements",
]
