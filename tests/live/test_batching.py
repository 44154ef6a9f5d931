"""The batch rule: critical metrics flush early, standard ones wait for the window or the size."""

from __future__ import annotations

from live.stream.batching import PendingBatch


def change(collection: str) -> dict:
    return {"operationType": "update", "ns": {"db": "hospital", "coll": collection}}


def test_a_critical_flush_leaves_standard_metrics_waiting_for_the_window():
    batch = PendingBatch(batch_size=100, batch_interval=1.0)
    batch.add(change("bills"), now=10.0, moment=1000.0, urgent=False)
    # A new patient in care: patientCount moved, dischargesToday did not.
    batch.add(change("patients"), now=10.1, moment=1000.1, urgent=False, metrics=["patientCount"])
    assert batch.critical_dirty()
    taken, reported = batch.take(everything=False)
    assert taken == {"patientCount": [1000.1]}
    assert reported == {"patients": 1}  # the bill's metric is still to be broadcast
    assert not batch.clean and not batch.critical_dirty()
    assert not batch.window_due(10.9)
    assert batch.window_due(11.0)
    taken, reported = batch.take(everything=True)
    assert taken == {"revenue": [1000.0]} and reported == {"bills": 1}
    assert batch.clean and batch.window_started is None


def test_the_window_closes_at_the_batch_size_or_when_ending():
    batch = PendingBatch(batch_size=3, batch_interval=60.0)
    assert not batch.window_due(0.0, ending=True)  # nothing pending: nothing to flush
    for _ in range(2):
        batch.add(change("staff"), now=0.0, moment=None, urgent=False)
    assert not batch.window_due(0.0)
    assert batch.window_due(0.0, ending=True)
    batch.add(change("staff"), now=0.0, moment=None, urgent=False)
    assert batch.window_due(0.0)
    assert batch.seconds_to_window(15.0) == 45.0


def test_an_urgent_change_is_remembered_until_the_next_flush():
    batch = PendingBatch(batch_size=100, batch_interval=1.0)
    batch.add(change("workflows"), now=0.0, moment=None, urgent=True)
    batch.add(change("workflows"), now=0.0, moment=None, urgent=False)
    assert batch.urgent
    taken, _ = batch.take(everything=False)
    assert taken == {"emergencyAlerts": [None, None]}
    assert not batch.urgent and batch.clean


def test_standard_metrics_go_with_a_critical_flush_once_they_waited_half_the_window():
    batch = PendingBatch(batch_size=100, batch_interval=1.0)
    batch.add(change("bills"), now=10.0, moment=1000.0, urgent=False)
    assert not batch.standard_may_ride(10.49)
    assert batch.standard_may_ride(10.5)
    batch.add(change("patients"), now=10.6, moment=1000.6, urgent=False, metrics=["patientCount"])
    taken, reported = batch.take(everything=batch.standard_may_ride(10.6))
    assert taken == {"revenue": [1000.0], "patientCount": [1000.6]}
    assert reported == {"bills": 1, "patients": 1}
    assert batch.clean and batch.window_started is None
