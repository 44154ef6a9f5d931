"""One socket's subscriptions and the newest value of each metric it was sent.

The never-older rule lives here and only here: a value reaches a socket only
if the socket is subscribed to its metric and its version is higher than the
last one sent for that metric on that socket, or equal with other contents (a
later computation of the same database state: a waiting time that grew, an
acknowledgement merged in). Versions are database positions
(metrics/versions.py), so a client keeps a value whose version is at least
the one it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from metrics.catalogue import LIVE_METRICS

_ORDER = {name: position for position, name in enumerate(LIVE_METRICS)}


class Update(Protocol):
    """What `fresh` reads of an update (live/sockets/outbox.py's Update)."""

    metric: str
    wire: dict


U = TypeVar("U", bound=Update)


def _newer(wire: dict, sent: dict) -> bool:
    """Is `wire` worth sending to a socket that was last sent `sent` (of the same metric)?"""
    version, held = wire["version"], sent["version"]
    if version != held:
        return version > held
    # The same database state computed again later: worth sending only if it reads otherwise.
    return wire is not sent and (wire["data"] != sent["data"] or wire["stale"] != sent["stale"])


def live_order(metrics: Iterable[str]) -> list[str]:
    """Critical metrics first, in the catalogue's order."""
    return sorted(metrics, key=lambda name: _ORDER.get(name, len(_ORDER)))


class SocketSubscriptions:
    def __init__(self) -> None:
        self._metrics: set[str] = set()
        # metric -> the wire form (data, updatedAt, stale, version) last sent on this socket
        self._sent: dict[str, dict] = {}

    def __contains__(self, metric: str) -> bool:
        return metric in self._metrics

    def names(self) -> list[str]:
        """The subscribed metrics, critical first (the `subscriptions` reply)."""
        return live_order(self._metrics)

    def add(self, metric: str) -> bool:
        """Subscribe; False if already subscribed."""
        if metric in self._metrics:
            return False
        self._metrics.add(metric)
        return True

    def discard(self, metric: str) -> bool:
        """Unsubscribe; False if not subscribed."""
        if metric not in self._metrics:
            return False
        self._metrics.discard(metric)
        self._sent.pop(metric, None)
        return True

    def restart_versions(self, metric: str) -> None:
        """The socket's departments changed: the next value is a different series, always sent."""
        self._sent.pop(metric, None)

    def wants(self, metric: str, wire: dict) -> bool:
        """Would `wire` (a value of `metric`) reach this socket?"""
        if metric not in self._metrics:
            return False
        sent = self._sent.get(metric)
        return sent is None or _newer(wire, sent)

    def fresh(self, updates: list[U]) -> list[U]:
        """The updates (anything with `metric` and `wire`) that would reach this socket: `wants`
        for each, in one call, as the hub offers a flush to thousands of sockets."""
        metrics, sent = self._metrics, self._sent
        wanted: list[U] = []
        for update in updates:
            metric = update.metric
            if metric in metrics:
                held = sent.get(metric)
                if held is None or _newer(update.wire, held):
                    wanted.append(update)
        return wanted

    def record(self, metric: str, wire: dict) -> bool:
        """Take `wire` as sent if it passes the never-older rule; True when it should be sent."""
        if not self.wants(metric, wire):
            return False
        self._sent[metric] = wire
        return True

    def sent_all(self, updates: Iterable[Update]) -> None:
        """Note each of these updates as sent, once `fresh` chose them (the same check, not
        made twice)."""
        sent = self._sent
        for update in updates:
            sent[update.metric] = update.wire

    def newest(self, metric: str, wire: dict) -> dict:
        """`wire`, or what this socket already has if that is newer (snapshots never go back)."""
        sent = self._sent.get(metric)
        return sent if sent is not None and sent["version"] > wire["version"] else wire
