"""Inside one server process: which sockets want which metric over which departments, and the
delivery of a flush's values to them.

Each base value (every department) is projected once per scope that has local
subscribers, serialized once, and offered to each socket of that scope with the
other values of the same flush; a socket never waits for another (live/sockets/outbox.py).
The last update per metric and scope is kept, so that an older value arriving
late, or one that did not change for that scope, goes nowhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from metrics.cache import prime_local
from metrics.catalogue import LIVE_METRICS
from metrics.scope import Scope
from metrics.selectors import project_value
from metrics.values import MetricValue
from runtime import telemetry

from .outbox import FrameCache, Update

LIVE_ORDER = {name: position for position, name in enumerate(LIVE_METRICS)}


class Subscriber(Protocol):
    def offer(self, updates: list[Update], frames: FrameCache) -> int: ...

    def fail(self, exc: Exception) -> None:
        """Writing to this socket raised: close it (1011) without touching the others."""


@dataclass
class Delivery:
    """One scope's updates of one flush, and the local sockets to offer them to."""

    updates: list[Update]
    subscribers: list[Subscriber]
    frames: FrameCache = field(default_factory=dict)  # the batched frames, built once

    def offer(self, start: int, stop: int) -> int:
        """Offer the updates to subscribers[start:stop]; how many frames went out."""
        sent = 0
        for subscriber in self.subscribers[start:stop]:
            try:
                sent += subscriber.offer(self.updates, self.frames)
            except Exception as exc:  # one socket's write never stops the flush for the rest
                subscriber.fail(exc)
        if sent:
            telemetry.messages_out.labels(type="dashboard_update").inc(sent)
        return sent


class LocalFanout:
    def __init__(self) -> None:
        # metric -> scope key -> subscribers
        self.members: dict[str, dict[str, set[Subscriber]]] = defaultdict(lambda: defaultdict(set))
        self.scopes: dict[str, Scope] = {}
        # (metric, scope key) -> (the newest version seen, the last update sent to those sockets)
        self._latest: dict[tuple[str, str], tuple[int, Update]] = {}

    def join(self, subscriber: Subscriber, metric: str, scope: Scope) -> None:
        self.scopes.setdefault(scope.key, scope)
        self.members[metric][scope.key].add(subscriber)

    def leave(self, subscriber: Subscriber, metric: str, scope: Scope) -> None:
        members = self.members.get(metric, {}).get(scope.key)
        if members is not None:
            members.discard(subscriber)

    def forget(self, subscriber: Subscriber) -> None:
        """The socket ended: out of every group."""
        for groups in self.members.values():
            for members in groups.values():
                members.discard(subscriber)

    def subscribed_metrics(self) -> list[str]:
        """The metrics some local socket is subscribed to."""
        return [metric for metric, groups in self.members.items() if any(groups.values())]

    def latest(self, metric: str, scope: Scope) -> Update | None:
        """The last update sent to the local sockets of this metric and scope."""
        seen = self._latest.get((metric, scope.key))
        return None if seen is None else seen[1]

    def dispatch(self, values: list[MetricValue]) -> None:
        """Offer the values of one flush to every local socket that wants them, at once."""
        for delivery in self.plan(values):
            delivery.offer(0, len(delivery.subscribers))

    def plan(self, values: list[MetricValue]) -> list[Delivery]:
        """The values of one flush, projected and serialized once per scope with local
        subscribers, and the sockets of each scope to offer them to (in any order, in parts)."""
        by_scope: dict[str, list[Update]] = defaultdict(list)
        for base in sorted(values, key=lambda value: LIVE_ORDER.get(value.metric, 99)):
            prime_local(base)
            for scope_key, subscribers in list(self.members.get(base.metric, {}).items()):
                if subscribers:
                    update = self._update_for(base, scope_key)
                    if update is not None:
                        by_scope[scope_key].append(update)
        deliveries = []
        for scope_key, updates in by_scope.items():
            groups = (self.members[update.metric][scope_key] for update in updates)
            deliveries.append(Delivery(updates, list(set().union(*groups))))
        return deliveries

    def _update_for(self, base: MetricValue, scope_key: str) -> Update | None:
        """The update for one scope, or None when it is older than, or the same as, the last.
        A value of the same version with other contents (the same database state computed
        again later) is an update."""
        key = (base.metric, scope_key)
        previous = self._latest.get(key)
        if previous is not None and previous[0] > base.version:
            return None  # an older value arriving late
        wire = project_value(base, self.scopes[scope_key]).to_update()
        if previous is not None and _same_value(previous[1].wire, wire):
            # Unchanged for this scope: remember the version, send nothing.
            self._latest[key] = (base.version, previous[1])
            return None
        update = Update.of(base.metric, wire)
        self._latest[key] = (base.version, update)
        return update


def _same_value(a: dict, b: dict) -> bool:
    return a["data"] == b["data"] and a["stale"] == b["stale"]
