"""The demo at any local hour, as a newcomer meets it: `seed_demo`, then `serve --simulate 5
--listener on` with `DASHBOARD_DEMO_AT`, and a socket on the real server subscribed to every live
metric (the listener and the simulator in the loop). At local 03:00, 09:00, 14:00 and 22:00 some
tile changes every few seconds, the headline metrics each change every minute, and the hospital's
numbers stay within their published ranges (docs/simulator.md)."""

from __future__ import annotations

import pytest

from bench.pulse import HOURS, measure
from simulator.plausibility import out_of_range

MINUTES = 3
HEADLINE = ("patientCount", "emergencyAlerts", "roomOccupancy")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_the_demo_moves_at_any_hour_and_its_numbers_are_plausible(tmp_path):
    pulses = measure(HOURS, tmp_path, seconds=MINUTES * 60, settle=20)
    problems = []
    for pulse in pulses:
        summary = pulse.summary()
        print(summary)
        label = f"{summary['hour']} ({pulse.zone}, from {pulse.local_start})"
        if int(pulse.local_start[:2]) != pulse.hour:
            problems.append(f"{label}: the demo did not run at its hour")
        if pulse.per_minute() < 6:
            problems.append(f"{label}: {pulse.per_minute():.1f} updates a minute, fewer than 6")
        if pulse.longest_gap() > 30:
            problems.append(f"{label}: {pulse.longest_gap():.1f} s without any update")
        for metric in HEADLINE:
            if pulse.per_minute(metric) < 1:
                problems.append(f"{label}: {metric} {pulse.per_minute(metric):.1f} a minute")
        for value, reference in out_of_range(pulse.figures).values():
            problems.append(
                f"{label}: {reference.label} {value}, outside {reference.low}-{reference.high}"
            )
    assert not problems, "\n".join(problems)
