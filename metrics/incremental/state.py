"""The live metrics, kept up to date from change events in time independent of the data size.

Each live metric keeps a state of its own (keyed by the metric, so several metrics may read
one collection, and one metric several collections). For most, the state is the GROUP BY
its aggregation computes, plus a shadow per document of that document's current share;
both are built by one projected scan with the aggregation's own condition, and every
change event then takes a document's old share out and puts its new one in
(metrics/incremental/groups.py). A base value is built from the state by the same function
the full aggregation ends with, so the two are equal. A metric may bring a state of its own
(`new_state`, metrics/definition.py), answering `fold`, `load`, `base`, `forget_past`,
`memory`, `windowed` and `scans`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.catalogue import LIVE_METRICS, METRICS
from metrics.compute.documents import DayWindow
from metrics.timerange import day_bounds, hospital_zone

from .groups import GroupedState
from .ids import compact_id

# What a change of a whole collection means: it is gone, or the state cannot tell.
_GONE = {"drop"}
_UNFOLLOWABLE = {"rename", "dropDatabase"}


def window_at(now: dt.datetime) -> DayWindow:
    """Today (in the hospital's zone) and the days after it."""
    zone = hospital_zone()
    return DayWindow(zone, now.astimezone(zone).date())


def new_state(metric: str, window: DayWindow) -> Any:
    module = METRICS[metric].implementation
    make = getattr(module, "new_state", None)
    return make(window) if make is not None else GroupedState(module, window)


def readers() -> dict[str, list[str]]:
    """Collection -> the live metrics reading it, critical first."""
    found: dict[str, list[str]] = {}
    for metric in LIVE_METRICS:
        for collection in METRICS[metric].collections:
            found.setdefault(collection, []).append(metric)
    return found


class IncrementalMetrics:
    """Every live metric's state; `apply` folds one change event, `base` reads a base value."""

    def __init__(self, now: dt.datetime) -> None:
        self.window = window_at(now)
        self.readers = readers()
        self.states = {metric: new_state(metric, self.window) for metric in LIVE_METRICS}
        self.documents: dict[str, int] = dict.fromkeys(self.readers, 0)  # sizes at build
        # A change the state cannot follow (a renamed collection, a dropped database): rebuild.
        self.stale = False

    @classmethod
    def build(cls, db: Any, now: dt.datetime) -> IncrementalMetrics:
        """A state built from the store: one projected scan per metric and collection."""
        state = cls(now)
        for metric in LIVE_METRICS:
            state.rebuild(db, metric)
        return state

    def rebuild(self, db: Any, metric: str) -> None:
        """Build one metric's state again from a projected scan of the documents that count."""
        fresh = new_state(metric, self.window)
        for collection, match, fields in scans(metric, self.window):
            scan = db[collection].aggregate(
                [{"$match": match}, {"$project": dict.fromkeys(fields, 1)}]
            )
            fresh.load(collection, ((compact_id(doc["_id"]), doc) for doc in scan))
            self.documents[collection] = db[collection].estimated_document_count()
        self.states[metric] = fresh

    def apply(self, event: dict) -> list[str]:
        """Fold one change event; returns the metrics whose state it changed."""
        operation = event.get("operationType")
        collection: str = (event.get("ns") or {}).get("coll") or ""
        if operation in _UNFOLLOWABLE:
            self.stale = True
            return []
        metrics = self.readers.get(collection)
        if not metrics:
            return []
        if operation in _GONE:
            for metric in metrics:
                self.states[metric] = new_state(metric, self.window)
            return list(metrics)
        if operation == "delete":
            document = None
        elif operation in ("insert", "replace", "update"):
            # An update's document is looked up when the event is read: None once deleted.
            document = event.get("fullDocument")
        else:
            return []
        key = compact_id(event["documentKey"]["_id"])
        return [m for m in metrics if self.states[m].fold(collection, key, document)]

    def base(self, metric: str, now: dt.datetime, *, acknowledgements: bool = True) -> dict:
        """The metric's base value at `now`, equal to compute_base(metric, now=now)."""
        return self.states[metric].base(now, acknowledgements=acknowledgements)

    # --- days ---------------------------------------------------------------------------------
    def next_day(self) -> dt.datetime:
        """When the window's first day ends (UTC): the local midnight the day metrics roll at."""
        noon = dt.datetime.combine(self.window.first, dt.time(12), tzinfo=self.window.zone)
        return day_bounds(noon)[1]

    def roll_over(self, now: dt.datetime) -> list[str]:
        """Start the window at `now`'s day: past days leave the state. Returns the day metrics."""
        window = window_at(now)
        if window.first <= self.window.first:
            return []
        self.window = window
        for state in self.states.values():
            state.forget_past(window)
        return [metric for metric, state in self.states.items() if state.windowed]

    def memory(self) -> dict[str, tuple[int, int, int]]:
        """Per metric: (documents shadowed, shadow bytes, documents of its collections at build)."""
        return {
            metric: (
                *state.memory(),
                sum(self.documents.get(c, 0) for c in METRICS[metric].collections),
            )
            for metric, state in self.states.items()
        }


def scans(metric: str, window: DayWindow) -> list[tuple[str, dict, tuple[str, ...]]]:
    """(collection, $match, fields) of the scans that build a metric's state."""
    module = METRICS[metric].implementation
    own = getattr(module, "scans", None)
    if own is not None:
        return own(window)
    match = module.scan_match(window) if getattr(module, "WINDOWED", False) else module.MATCH
    return [(METRICS[metric].collections[0], match, module.FIELDS)]
