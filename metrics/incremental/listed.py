"""The incremental form of a metric over few documents: each one that counts, as it counts.

For metrics whose documents are few at any moment (patients waiting to be seen: tens, however
large the hospital) and whose value needs more than sums (the longest wait is a minimum). The
state is the shadow alone: per document that counts, its `contribution`; a base value is built
from the shadow's entries by the metric's `from_listed(entries, now)`, in time proportional to
those few documents, never to the collection.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from metrics.compute.documents import DayWindow

from .pickled import MetricByName


class ListedState(MetricByName):
    """Every counting document's contribution, keyed by document."""

    windowed = False  # what counts does not depend on the day

    def __init__(self, metric: ModuleType, window: DayWindow) -> None:
        self.metric = metric
        self.window = window
        self.shadow: dict[Any, Any] = {}

    def fold(self, collection: str, key: Any, doc: dict | None) -> bool:
        """Make `doc` (None: deleted) the document's current version; True if the value moved."""
        new = None if doc is None else self.metric.contribution(doc, self.window)
        old = self.shadow.get(key)
        if old == new:
            return False
        if new is None:
            del self.shadow[key]
        else:
            self.shadow[key] = new
        return True

    def load(self, collection: str, documents: Iterable[tuple[Any, dict]]) -> None:
        for key, doc in documents:
            self.fold(collection, key, doc)

    def base(self, now: Any, *, acknowledgements: bool = True) -> dict:
        return self.metric.from_listed(self.shadow.values(), now)

    def forget_past(self, window: DayWindow) -> None:
        self.window = window

    def memory(self) -> tuple[int, int]:
        size = sys.getsizeof(self.shadow)
        for key, entry in self.shadow.items():
            size += sys.getsizeof(key) + sys.getsizeof(entry)
            size += sum(sys.getsizeof(part) for part in entry)
        return len(self.shadow), size
