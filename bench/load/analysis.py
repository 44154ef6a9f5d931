"""What one load generator process saw in one window, set against the run's reference times."""

from __future__ import annotations

import bisect
import random
from collections import Counter

from bench.load.stats import SAMPLE_CAP, cap

SETTLE_SECONDS = 2.0


def analyse(gen, refs: dict, ended: float) -> dict:
    """Latencies, deliveries and losses of one window, against the run's reference times.

    refs["markers"][tier] = {"metric": name, "writes": [[write start, position], ...]}:
    a value's version is the database position of the state it reflects, and a write's
    position is the version of the first state holding it; so write k reached a client
    with the first version at least its position (whatever else changed the metric
    meanwhile).
    refs["sent"][key] = {ident: time}: when each (metric version | bare sequence number)
    left the publisher, or reached the channel layer (the probe).
    """
    rng = random.Random(7)
    tier_of = gen.tiers
    present = [c for c in gen.clients if c.ready and not c.slow]  # slow ones are not measured
    survivors = [c for c in present if c.alive]
    # Union of what reached any client of this process, per key: what every client should get.
    # A version first seen less than SETTLE_SECONDS before the window closed may still be on
    # its way to the other sockets (a fan-out to 1000 sockets takes a while): leave it out.
    first_seen: dict[str, dict[int, float]] = {}
    for client in present:
        for key, keys in client.keys.items():
            seen = first_seen.setdefault(key, {})
            for version, moment in zip(keys, client.times[key], strict=True):
                if moment < seen.get(version, float("inf")):
                    seen[version] = moment
    union = {
        key: {version for version, moment in seen.items() if moment <= ended - SETTLE_SECONDS}
        for key, seen in first_seen.items()
    }
    received = sum(len(keys) for c in present for keys in c.keys.values())
    expected = 0
    survivor_received = 0
    for client in survivors:
        for key, versions in union.items():
            floor = client.initial.get(key, -1)
            owed = {v for v in versions if v > floor}
            expected += len(owed)
            survivor_received += len(owed.intersection(client.keys.get(key, ())))

    sent = refs.get("sent", {})
    ref_latency: dict[str, list[float]] = {}
    for client in present:
        for key, keys in client.keys.items():
            times = sent.get(key)
            if not times:
                continue
            bucket = ref_latency.setdefault(tier_of.get(key, key), [])
            arrivals = client.times[key]
            previous = None
            for ident, moment in zip(keys, arrivals, strict=True):
                # The same version again is the same state computed later (a waiting time that
                # grew): the reference knows when that version first passed, not this one.
                origin = times.get(str(ident)) if ident != previous else None
                previous = ident
                if origin is not None:
                    bucket.append(moment - origin)

    marker_latency: dict[str, list[float]] = {}
    marker_missed: dict[str, int] = {}
    # Per marker write: when it was written, and its median and slowest client here (whether a
    # tail is every marker's or a few markers').
    marker_spread: dict[str, list[list[float]]] = {}
    for tier, marker in refs.get("markers", {}).items():
        bucket = marker_latency.setdefault(tier, [])
        by_write: list[list[float]] = [[] for _ in marker["writes"]]
        missed = 0
        for client in survivors:
            versions = client.keys.get(marker["metric"], ())
            arrivals = client.times.get(marker["metric"], ())
            for k, (written_at, written) in enumerate(marker["writes"]):
                # Versions arrive in order (never lower; equal ones are later computations).
                position = bisect.bisect_left(versions, written)
                if position == len(versions):
                    missed += 1
                else:
                    bucket.append(arrivals[position] - written_at)
                    by_write[k].append(arrivals[position] - written_at)
        marker_missed[tier] = missed
        marker_spread[tier] = [
            [written_at, sorted(times)[len(times) // 2], max(times)]
            for (written_at, _), times in zip(marker["writes"], by_write, strict=True)
            if times
        ]

    return {
        "started": gen.window_started,
        "ended": ended,
        "clients": len(gen.clients),
        "present": len(present),
        "survivors": len(survivors),
        "dropped": gen.dropped_in_window,
        "errors": sum(c.errors for c in present),
        "out_of_order": sum(c.out_of_order for c in present),
        "delivered": received,
        "expected": expected,
        "missed": max(0, expected - survivor_received),
        "first_arrival": gen.first_arrival,
        "last_arrival": gen.last_arrival,
        "bins": {str(k): v for k, v in sorted(gen.bins.items())},
        "ref_latency": {k: cap(v, SAMPLE_CAP, rng) for k, v in ref_latency.items()},
        "ref_latency_count": {k: len(v) for k, v in ref_latency.items()},
        "marker_latency": {k: cap(v, SAMPLE_CAP, rng) for k, v in marker_latency.items()},
        "marker_latency_count": {k: len(v) for k, v in marker_latency.items()},
        "marker_missed": marker_missed,
        "marker_spread": marker_spread,
        "close_codes": dict(
            Counter(c.close_code for c in present if not c.alive and c.close_code is not None)
        ),
    }
