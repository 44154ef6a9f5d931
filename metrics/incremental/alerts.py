"""The incremental form of emergencyAlerts: per department, its open alerts in newest-first order.

Open emergencies are few (they are resolved within hours), so each one keeps
its whole alert; a department's alerts sit in a sorted list, so an alert is
added, moved or removed in logarithmic time and the newest 50 are a slice.
A build makes anew only the parts of the departments whose alerts moved since
the last build (all of them after a new acknowledgement); the others are the
previous value's parts, which nothing modifies, so comparing two values is
quick too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from sortedcontainers import SortedList

from metrics.compute.acknowledgements import Acknowledgements
from metrics.compute.documents import DayWindow
from metrics.compute.parts import base_value

from .pickled import MetricByName


class AlertState(MetricByName):
    """Open emergency alerts by department, and the shadow of each open one."""

    windowed = False  # open alerts have no day

    def __init__(self, metric: ModuleType, window: DayWindow) -> None:
        # The emergencyAlerts module (metrics/compute/alerts.py), which makes this state.
        self.metric = metric
        self.window = window
        self.open: dict[str | None, SortedList] = {}  # department -> [(order, key)] ascending
        # workflow key -> (department, order, alert), for the open emergencies only
        self.shadow: dict[Any, tuple[str | None, tuple, dict]] = {}
        self.acknowledgements = Acknowledgements(remember=True)
        self._parts: dict[str | None, dict] = {}  # department -> its part, as last built
        self._moved: set[str | None] = set()  # departments whose alerts moved since then

    def fold(self, collection: str, key: Any, doc: dict | None) -> bool:
        """Make `doc` (None: deleted) the workflow's current version; True if an alert moved."""
        new = None if doc is None else self.metric.contribution(doc, self.window)
        old = self.shadow.get(key)
        if old == new:
            return False
        if old is not None:
            listed = self.open[old[0]]
            listed.remove((old[1], key))
            self._moved.add(old[0])
            if not listed:
                del self.open[old[0]]
        if new is None:
            del self.shadow[key]
        else:
            self.open.setdefault(new[0], SortedList()).add((new[1], key))
            self.shadow[key] = new
            self._moved.add(new[0])
        return True

    def load(self, collection: str, documents: Iterable[tuple[Any, dict]]) -> None:
        for key, doc in documents:
            self.fold(collection, key, doc)

    def rows(
        self, now: Any, departments: Iterable[str | None] | None = None
    ) -> Iterable[tuple[str | None, int, list[dict]]]:
        """(department, open alerts, its newest 50, newest first), as the aggregation gives them."""
        for department in self.open if departments is None else departments:
            listed = self.open[department]
            newest = listed[-self.metric.LISTED :]
            yield department, len(listed), [self.shadow[key][2] for _, key in reversed(newest)]

    def base(self, now: Any, *, acknowledgements: bool = True) -> dict:
        """The base value, acknowledgements merged in (unless told not to)."""
        if not acknowledgements:
            return self.metric.from_groups(self.rows(now), None)
        if self.acknowledgements.changed():
            self._moved.update(self._parts)
        moved = [department for department in self._moved if department in self.open]
        if moved:
            built = self.metric.from_groups(self.rows(now, moved), self.acknowledgements)
            for department in moved:
                self._parts[department] = (
                    built["unassigned"] if department is None else built["departments"][department]
                )
        for department in self._moved - set(moved):
            self._parts.pop(department, None)
        if self._moved:
            self._moved.clear()
            self.acknowledgements.keep_only(
                alert["id"] for part in self._parts.values() for alert in part["alerts"]
            )
        return base_value(dict(self._parts))

    def forget_past(self, window: DayWindow) -> None:
        self.window = window

    def memory(self) -> tuple[int, int]:
        """(documents shadowed, bytes): the shadow, the sorted lists and the built parts."""
        size = sys.getsizeof(self.shadow) + sys.getsizeof(self.open)
        for key, entry in self.shadow.items():
            _, order, alert = entry
            size += sys.getsizeof(key) + sys.getsizeof(entry)
            size += sys.getsizeof(order) + sys.getsizeof(alert)
            size += sum(sys.getsizeof(part) for part in order)
            size += sum(sys.getsizeof(value) for value in alert.values() if value is not None)
        for listed in self.open.values():
            size += sys.getsizeof(listed) + 64 * len(listed)  # list slots and (order, key) pairs
        for part in self._parts.values():  # the last built parts (their alerts are copies)
            size += sys.getsizeof(part["alerts"])
            size += sum(sys.getsizeof(alert) for alert in part["alerts"])
        return len(self.shadow), size
