"""The six live metrics, kept up to date from change events in time independent of the data size.

Each live metric reads one collection (metrics/catalogue.py). Its state is the
GROUP BY its aggregation computes, plus a shadow per document of that
document's current share; both are built by one projected scan with the
aggregation's own condition, and every change event then takes a document's
old share out and puts its new one in. A base value is built from the state by
the same function the full aggregation ends with, so the two are equal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.compute import LIVE
from metrics.compute.documents import DayWindow
from metrics.timerange import day_bounds, hospital_zone

from .alerts import AlertState
from .groups import GroupedState
from .ids import compact_id

# Each watched collection feeds exactly one live metric.
METRIC_OF: dict[str, str] = {module.COLLECTION: name for name, module in LIVE.items()}
# What a change of a whole collection means: it is gone, or the state cannot tell.
_GONE = {"drop"}
_UNFOLLOWABLE = {"rename", "dropDatabase"}


def window_at(now: dt.datetime) -> DayWindow:
    """Today (in the hospital's zone) and the days after it."""
    zone = hospital_zone()
    return DayWindow(zone, now.astimezone(zone).date())


def _new_state(collection: str, window: DayWindow) -> GroupedState | AlertState:
    module = LIVE[METRIC_OF[collection]]
    return AlertState(window) if module.COLLECTION == "workflows" else GroupedState(module, window)


class IncrementalMetrics:
    """Every live metric's state; `apply` folds one change event, `base` reads a base value."""

    def __init__(self, now: dt.datetime) -> None:
        self.window = window_at(now)
        self.states = {collection: _new_state(collection, self.window) for collection in METRIC_OF}
        self.documents: dict[str, int] = dict.fromkeys(METRIC_OF, 0)  # collection sizes at build
        # A change the state cannot follow (a renamed collection, a dropped database): rebuild.
        self.stale = False

    @classmethod
    def build(cls, db: Any, now: dt.datetime) -> IncrementalMetrics:
        """A state built from the store: one projected scan per collection."""
        state = cls(now)
        for collection in METRIC_OF:
            state.rebuild(db, collection)
        return state

    def rebuild(self, db: Any, collection: str) -> None:
        """Build one collection's state again from one projected scan of the documents that count."""
        module = LIVE[METRIC_OF[collection]]
        fresh = _new_state(collection, self.window)
        scan = db[collection].aggregate(
            [
                {"$match": module.scan_match(self.window) if module.WINDOWED else module.MATCH},
                {"$project": dict.fromkeys(module.FIELDS, 1)},
            ]
        )
        fresh.load((compact_id(doc["_id"]), doc) for doc in scan)
        self.states[collection] = fresh
        self.documents[collection] = db[collection].estimated_document_count()

    def apply(self, event: dict) -> list[str]:
        """Fold one change event; returns the metrics whose state it changed."""
        operation = event.get("operationType")
        collection: str = (event.get("ns") or {}).get("coll") or ""
        state = self.states.get(collection)
        if operation in _UNFOLLOWABLE:
            self.stale = True
            return []
        if state is None:
            return []
        if operation in _GONE:
            self.states[collection] = _new_state(collection, self.window)
            return [METRIC_OF[collection]]
        if operation == "delete":
            document = None
        elif operation in ("insert", "replace", "update"):
            # An update's document is looked up when the event is read: None once deleted.
            document = event.get("fullDocument")
        else:
            return []
        changed = state.fold(compact_id(event["documentKey"]["_id"]), document)
        return [METRIC_OF[collection]] if changed else []

    def base(self, metric: str, now: dt.datetime, *, acknowledgements: bool = True) -> dict:
        """The metric's base value at `now`, equal to compute_base(metric, now=now)."""
        state = self.states[LIVE[metric].COLLECTION]
        return state.base(now, acknowledgements=acknowledgements)

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
        return [METRIC_OF[c] for c, state in self.states.items() if state.windowed]

    def memory(self) -> dict[str, tuple[int, int, int]]:
        """Per collection: (documents shadowed, shadow bytes, documents in the collection at build)."""
        return {
            collection: (*state.memory(), self.documents[collection])
            for collection, state in self.states.items()
        }
