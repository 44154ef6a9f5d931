"""The incremental form of a grouped count: counts per group, and each document's share in them.

A metric module (metrics/compute) says which documents the state's scan reads
(`MATCH`; `scan_match(window)` for a WINDOWED metric, whose groups are keyed by
local day and of which `rows` picks today's), which group a document counts in
and what it adds (`contribution`). The state holds, per group, the number of
documents and the sums of their values, and, per document that counts, its
current share (the shadow). A change takes the old share out and puts the new
one in, in time independent of the collection's size. Documents that count
nowhere are not in the shadow at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from metrics.compute.documents import DayWindow

from .pickled import MetricByName

_SMALL_INTS = range(-5, 257)  # CPython shares these objects


class GroupedState(MetricByName):
    """Counts per group ([documents, *sums]) and the shadow of the documents that count."""

    def __init__(self, metric: ModuleType, window: DayWindow) -> None:
        self.metric = metric
        self.window = window
        self.windowed: bool = metric.WINDOWED
        self.values: int = metric.VALUES  # how many values a document adds besides itself
        self._contribution: Callable[[dict, DayWindow], Any] = metric.contribution
        self.groups: dict[Any, list] = {}
        self._keys: dict[Any, Any] = {}  # one shared object per group key
        # document key -> its group key (no values) or (group key, *values); group keys are
        # tuples, so an entry is never None (None: the document counts nowhere).
        self.shadow: dict[Any, Any] = {}
        self.entry_bytes = 0  # the shadow's keys and entries, beside the table itself

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        del state["_contribution"]
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._contribution = self.metric.contribution

    # --- folding ------------------------------------------------------------------------------
    def fold(self, collection: str, key: Any, doc: dict | None) -> bool:
        """Make `doc` (None: deleted) the document's current version; True if a count moved.

        One collection per grouped state: `collection` is the metric's only one."""
        found = None if doc is None else self._contribution(doc, self.window)
        new = None if found is None else self._entry(*found)
        old = self.shadow.get(key)
        if old == new:
            return False
        if old is not None:
            self._take(old)
            self.entry_bytes -= _entry_size(key, old, self.values)
        if new is None:
            del self.shadow[key]
        else:
            self._put(new)
            self.shadow[key] = new
            self.entry_bytes += _entry_size(key, new, self.values)
        return True

    def load(self, collection: str, documents: Iterable[tuple[Any, dict]]) -> None:
        """Fold documents into an empty state (the build's scan)."""
        for key, doc in documents:
            self.fold(collection, key, doc)

    def _entry(self, group: Any, values: tuple) -> Any:
        group = self._keys.setdefault(group, group)
        return (group, *values) if values else group

    def _split(self, entry: Any) -> tuple[Any, tuple]:
        return (entry[0], entry[1:]) if self.values else (entry, ())

    def _put(self, entry: Any) -> None:
        group, values = self._split(entry)
        counts = self.groups.get(group)
        if counts is None:
            self.groups[group] = [1, *values]
            # The entry's group object stays the shared one (its group may just have been
            # emptied and forgotten by taking the document's old share out).
            self._keys.setdefault(group, group)
            return
        counts[0] += 1
        for index, value in enumerate(values, 1):
            counts[index] += value

    def _take(self, entry: Any) -> None:
        group, values = self._split(entry)
        counts = self.groups[group]
        counts[0] -= 1
        if counts[0] == 0:
            del self.groups[group]
            del self._keys[group]
            return
        for index, value in enumerate(values, 1):
            counts[index] -= value

    # --- reading ------------------------------------------------------------------------------
    def rows(self, now: Any) -> Iterable[tuple[Any, list]]:
        """The grouped rows the metric's full aggregation would give at `now`."""
        if not self.windowed:  # every group counts, whatever the day
            return self.groups.items()
        return self.metric.rows(self.groups, self.window, now)

    def base(self, now: Any, *, acknowledgements: bool = True) -> dict:
        """The metric's base value at `now`, as its full aggregation would give it."""
        return self.metric.from_groups(self.rows(now))

    # --- time ---------------------------------------------------------------------------------
    def forget_past(self, window: DayWindow) -> None:
        """Move to a later window: groups and shadow entries of days before it go."""
        self.window = window
        if not self.windowed:
            return
        first = window.first
        for key, entry in list(self.shadow.items()):
            group, _ = self._split(entry)
            if group[0] is not None and group[0] < first:
                self._take(entry)
                del self.shadow[key]
                self.entry_bytes -= _entry_size(key, entry, self.values)

    def memory(self) -> tuple[int, int]:
        """(documents shadowed, bytes): the shadow's table, keys and entries, and the groups."""
        groups = sys.getsizeof(self.groups) + sys.getsizeof(self._keys)
        groups += sum(_group_size(group, counts) for group, counts in self.groups.items())
        return len(self.shadow), sys.getsizeof(self.shadow) + self.entry_bytes + groups


def _entry_size(key: Any, entry: Any, values: int) -> int:
    """Bytes one shadow entry holds on its own (shared group keys and small ints excluded)."""
    size = sys.getsizeof(key)
    if values:
        size += sys.getsizeof(entry)
        size += sum(
            sys.getsizeof(v) for v in entry[1:] if not (type(v) is int and v in _SMALL_INTS)
        )
    return size


def _group_size(group: Any, counts: list) -> int:
    size = sys.getsizeof(counts) + sum(sys.getsizeof(value) for value in counts)
    if type(group) is tuple:
        size += sys.getsizeof(group)
    return size
