"""States that hold their metric's module pickle it by name.

The benchmark measures a state in a process of its own (bench/incremental.py), so a state must
pickle; a module does not, its name does.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MetricByName:
    """Pickles `self.metric` (a module) as its name and imports it back."""

    metric: ModuleType

    def __getstate__(self) -> dict:
        return {**self.__dict__, "metric": self.metric.__name__}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.metric = importlib.import_module(state["metric"])
