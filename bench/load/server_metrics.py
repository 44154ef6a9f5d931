"""The servers' own figures for a window, read from their /metrics (summed over workers)."""

from __future__ import annotations

import math
import re
import urllib.request
from collections import Counter

FLUSH_DELIVERY = "dashboard_flush_delivery_seconds"
_SAMPLE = re.compile(r"^(?P<name>\w+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def scrape(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
        return answer.read().decode()


def samples(text: str) -> Counter:
    """(name, frozenset of labels) -> value, for every sample of the exposition."""
    found: Counter = Counter()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = frozenset(_LABEL.findall(match["labels"] or ""))
            found[match["name"], labels] += float(match["value"])
    return found


def counter(text: str, name: str) -> float:
    return sum(value for (found, _), value in samples(text).items() if found == name)


def flush_delivery(before: list[str], after: list[str]) -> dict:
    """Per tier, the flushes delivered between the two scrapes of every server: how many, the
    mean time from a process starting one to its last socket, and p50 / p99 as Prometheus's
    histogram_quantile would estimate them from the buckets."""
    delta: Counter = Counter()
    for text in after:
        delta.update(samples(text))
    for text in before:
        delta.subtract(samples(text))
    result = {}
    for tier in ("critical", "standard"):
        count = delta[f"{FLUSH_DELIVERY}_count", frozenset({("tier", tier)})]
        if count <= 0:
            continue
        buckets = sorted(
            (float(dict(labels)["le"]), value)
            for (name, labels), value in delta.items()
            if name == f"{FLUSH_DELIVERY}_bucket" and ("tier", tier) in labels
        )
        total = delta[f"{FLUSH_DELIVERY}_sum", frozenset({("tier", tier)})]
        result[tier] = {
            "flushes": int(count),
            "mean_ms": round(total / count * 1e3, 1),
            "p50_ms": _quantile(buckets, 0.5),
            "p99_ms": _quantile(buckets, 0.99),
        }
    return result


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Linear interpolation inside the bucket holding the q-th observation (cumulative counts)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return round(lower_bound * 1e3, 1)  # beyond the last finite bucket
            share = (
                (rank - lower_count) / (cumulative - lower_count) if cumulative > lower_count else 0
            )
            return round((lower_bound + (bound - lower_bound) * share) * 1e3, 1)
        lower_bound, lower_count = bound, cumulative
    return None
