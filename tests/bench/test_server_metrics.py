"""The load benchmark reads the servers' flush delivery times from their /metrics."""

from __future__ import annotations

from bench.load.server_metrics import flush_delivery

BOUNDS = ("0.1", "0.2", "0.4", "+Inf")


def exposition(critical: tuple[int, ...], total_seconds: float) -> str:
    """A critical tier whose cumulative bucket counts are `critical`, as prometheus_client
    writes them (a standard tier with one flush, unchanged between the scrapes)."""
    lines = []
    for bound, count in zip(BOUNDS, critical, strict=True):
        lines.append(
            f'dashboard_flush_delivery_seconds_bucket{{le="{bound}",tier="critical"}} {count}.0'
        )
    lines.append(f'dashboard_flush_delivery_seconds_count{{tier="critical"}} {critical[-1]}.0')
    lines.append(f'dashboard_flush_delivery_seconds_sum{{tier="critical"}} {total_seconds}')
    for bound in BOUNDS:
        lines.append(f'dashboard_flush_delivery_seconds_bucket{{le="{bound}",tier="standard"}} 1.0')
    lines.append('dashboard_flush_delivery_seconds_count{tier="standard"} 1.0')
    lines.append('dashboard_flush_delivery_seconds_sum{tier="standard"} 0.05')
    return "\n".join(["# TYPE dashboard_flush_delivery_seconds histogram", *lines]) + "\n"


def test_the_window_counts_the_flushes_between_the_two_scrapes():
    before = exposition((5, 5, 5, 5), 0.25)
    # 10 more: 2 under 100 ms, 6 between 100 and 200 ms, 2 between 200 and 400 ms.
    after = exposition((7, 13, 15, 15), 0.25 + 1.8)

    figures = flush_delivery([before], [after])

    assert set(figures) == {"critical"}  # no standard flush in the window
    critical = figures["critical"]
    assert critical["flushes"] == 10
    assert critical["mean_ms"] == 180.0
    assert critical["p50_ms"] == 150.0  # the 5th of 10: half way into the 100-200 ms bucket
    assert 380 < critical["p99_ms"] <= 400


def test_two_servers_add_up():
    before = [exposition((0, 0, 0, 0), 0.0)] * 2
    after = [exposition((0, 2, 2, 2), 0.3), exposition((0, 0, 2, 2), 0.6)]

    critical = flush_delivery(before, after)["critical"]

    assert critical["flushes"] == 4
    assert critical["mean_ms"] == 225.0
    assert critical["p50_ms"] == 200.0
