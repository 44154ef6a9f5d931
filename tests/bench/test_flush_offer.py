"""`python -m bench.flush_offer` times the hub's offer of a flush against plain writes."""

from __future__ import annotations

import re

from .commands import run_bench


def test_it_reports_what_the_server_adds_per_socket_once_every_socket_read_every_frame():
    output = run_bench("bench.flush_offer", "--sockets", "60", "--rounds", "3")
    found = re.search(
        r"^60 sockets, median of 3 rounds, CPU per socket: a flush offered as the hub does "
        r"([\d.]+) us, the same frame written alone ([\d.]+) us, added by the server "
        r"(-?[\d.]+) us; every socket read every frame$",
        output,
        re.M,
    )
    assert found, output
    offer_us, write_us, added_us = map(float, found.groups())
    assert offer_us > 0 and write_us > 0
    assert abs(offer_us - write_us - added_us) < 0.11
