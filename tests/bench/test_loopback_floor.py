"""`python -m bench.loopback_floor` measures a round trip through the kernel and says so."""

from __future__ import annotations

import re

from .commands import run_bench


def test_it_reports_the_time_to_the_last_frame_and_the_cpu_of_each_side():
    output = run_bench("bench.loopback_floor", "--sockets", "50", "--rounds", "3")
    found = re.search(
        r"^50 sockets, 1000 B each, median of 3 rounds: last frame read ([\d.]+) ms after the "
        r"first write; CPU per frame: writer ([\d.]+) us, reader ([\d.]+) us$",
        output,
        re.M,
    )
    assert found, output
    last_ms, writer_us, reader_us = map(float, found.groups())
    assert 0 < last_ms < 5000 and writer_us > 0 and reader_us > 0
