"""The incremental form of emergencyAlerts: per department, its open alerts in newest-first order.

Open emergencies are few (they are resolved within hours), so each one keeps
its whole alert; a department's alerts sit in a sorted list, so an alert is
added, moved or removed in logarithmic time and the newest 50 are a slice.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from sortedcontainers import SortedList

from metrics.compute import alerts
from metrics.compute.acknowledgements import Acknowledgements
from metrics.compute.parts import DayWindow


class AlertState:
    """Open emergency alerts by department, and the shadow of each open one."""

    metric = alerts
    windowed = False  # open alerts have no day

    def __init__(self, window: DayWindow) -> None:
        self.window = window
        self.open: dict[str | None, SortedList] = {}  # department -> [(order, key)] ascending
        # workflow key -> (department, order, alert), for the open emergencies only
        self.shadow: dict[Any, tuple[str | None, tuple, dict]] = {}
        self.acknowledgements = Acknowledgements(remember=True)

    def fold(self, key: Any, doc: dict | None) -> bool:
        """Make `doc` (None: deleted) the workflow's current version; True if an alert moved."""
        new = None if doc is None else alerts.contribution(doc, self.window)
        old = self.shadow.get(key)
        if old == new:
            return False
        if old is not None:
            listed = self.open[old[0]]
            listed.remove((old[1], key))
            if not listed:
                del self.open[old[0]]
        if new is None:
            del self.shadow[key]
        else:
            self.open.setdefault(new[0], SortedList()).add((new[1], key))
            self.shadow[key] = new
        return True

    def load(self, documents: Iterable[tuple[Any, dict]]) -> None:
        for key, doc in documents:
            self.fold(key, doc)

    def rows(self, now: Any) -> Iterable[tuple[str | None, int, list[dict]]]:
        """(department, open alerts, its newest 50, newest first), as the aggregation gives them."""
        for department, listed in self.open.items():
            newest = listed[-alerts.LISTED :]
            yield department, len(listed), [self.shadow[key][2] for _, key in reversed(newest)]

    def base(self, now: Any, *, acknowledgements: bool = True) -> dict:
        """The base value, acknowledgements merged in (unless told not to)."""
        return alerts.from_groups(
            self.rows(now), self.acknowledgements if acknowledgements else None
        )

    def forget_past(self, window: DayWindow) -> None:
        self.window = window

    def memory(self) -> tuple[int, int]:
        """(documents shadowed, bytes): the shadow and the sorted lists, alerts included."""
        size = sys.getsizeof(self.shadow) + sys.getsizeof(self.open)
        for key, entry in self.shadow.items():
            _, order, alert = entry
            size += sys.getsizeof(key) + sys.getsizeof(entry)
            size += sys.getsizeof(order) + sys.getsizeof(alert)
            size += sum(sys.getsizeof(part) for part in order)
            size += sum(sys.getsizeof(value) for value in alert.values() if value is not None)
        for listed in self.open.values():
            size += sys.getsizeof(listed) + 64 * len(listed)  # list slots and (order, key) pairs
        return len(self.shadow), size
