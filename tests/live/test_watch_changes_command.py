"""`manage.py watch_changes`: its options are checked, and a taken metrics port is a clear error."""

from __future__ import annotations

import socket

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize(
    "options, message",
    [
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"batch_interval": -1.0}, "--batch-interval must not be negative"),
        ({"duration": 0.0}, "--duration must be positive"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("watch_changes", metrics_port=0, **options)


def test_a_taken_metrics_port_says_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match="Give each its own --metrics-port"):
            call_command("watch_changes", metrics_port=port, duration=1)
