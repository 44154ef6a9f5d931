"""The never-older rule of one socket, asked for one value (`wants`) or a flush's (`fresh`)."""

from __future__ import annotations

from live.sockets.outbox import Update
from live.sockets.subscriptions import SocketSubscriptions


def value(metric: str, version: int, total: int, stale: bool = False) -> Update:
    return Update.of(
        metric, {"data": {"total": total}, "updatedAt": "x", "stale": stale, "version": version}
    )


def test_fresh_chooses_what_wants_would_for_each_update():
    subscriptions = SocketSubscriptions()
    for metric in ("patientCount", "roomOccupancy", "emergencyAlerts"):
        subscriptions.add(metric)
    sent = [value("patientCount", 10, 1), value("roomOccupancy", 10, 1)]
    subscriptions.sent_all(sent)
    offered = [
        value("emergencyAlerts", 5, 1),  # never sent on this socket: goes
        value("patientCount", 9, 2),  # older than what the socket has: held back
        value("roomOccupancy", 10, 1),  # the same version, the same contents: held back
        value("revenue", 11, 1),  # not subscribed
    ]
    assert subscriptions.fresh(offered) == [offered[0]]
    assert [subscriptions.wants(u.metric, u.wire) for u in offered] == [True, False, False, False]

    later = [
        value("patientCount", 10, 3),  # the same version computed again, reading otherwise
        value("roomOccupancy", 10, 1, stale=True),  # the same version, now stale
        value("emergencyAlerts", 6, 1),
    ]
    assert subscriptions.fresh(later) == later
    assert all(subscriptions.wants(u.metric, u.wire) for u in later)
    # The very value already sent is never sent again.
    assert subscriptions.fresh(sent) == []


def test_sent_all_records_each_update_as_sent():
    subscriptions = SocketSubscriptions()
    subscriptions.add("patientCount")
    first = value("patientCount", 3, 1)
    subscriptions.sent_all([first])
    assert subscriptions.newest("patientCount", value("patientCount", 2, 0).wire) is first.wire
    assert not subscriptions.wants("patientCount", value("patientCount", 3, 1).wire)
