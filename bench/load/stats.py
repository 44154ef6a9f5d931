"""Small statistics: percentiles, capped samples, per-second series."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

# Latency samples kept per kind and generator process; percentiles of a random
# sample of this size are within a fraction of a millisecond of the full set's.
SAMPLE_CAP = 100_000


def cap(values: list[float], limit: int, rng: random.Random) -> list[float]:
    """At most `limit` values, a uniform random sample when there are more (rounded to 0.01 ms)."""
    if len(values) > limit:
        values = rng.sample(values, limit)
    return [round(v, 5) for v in values]


def percentile(ordered: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of sorted values, interpolated linearly."""
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(values: Iterable[float]) -> dict:
    """p50/p95/p99/max in milliseconds and the sample count, from values in seconds."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 50) * 1000, 1),
        "p95": round(percentile(ordered, 95) * 1000, 1),
        "p99": round(percentile(ordered, 99) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


def merge_bins(parts: Iterable[dict[str, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for bins in parts:
        for second, count in bins.items():
            merged[int(second)] = merged.get(int(second), 0) + count
    return merged


def median(values: Sequence[float]) -> float:
    return percentile(sorted(values), 50)


CDF_PERCENTS = [*range(0, 100), 99.5, 99.9, 100]


def cdf_points(ordered: Sequence[float]) -> list[list[float]]:
    """[[percent, milliseconds], ...] of sorted values in seconds: enough to draw the CDF."""
    if not ordered:
        return []
    return [[p, round(percentile(ordered, p) * 1000, 2)] for p in CDF_PERCENTS]
