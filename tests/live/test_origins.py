"""Origins are parsed strictly: scheme://host[:port], a bracketed IPv6 literal and nothing more."""

from __future__ import annotations

import pytest

from live.sockets.origins import host_allowed, origin_allowed, origin_host


@pytest.mark.parametrize(
    "origin, host",
    [
        ("http://127.0.0.1:8000", "127.0.0.1"),
        ("https://Dashboard.Example.org", "dashboard.example.org"),
        ("http://[::1]:8000", "[::1]"),
        ("http://[::1].evil.com", None),
        ("http://[::1]evil", None),
        ("http://127.0.0.1:8000/", None),
        ("http://user@127.0.0.1", None),
        ("ftp://127.0.0.1", None),
        ("null", None),
        ("", None),
    ],
)
def test_origin_host(origin, host):
    assert origin_host(origin) == host


def test_origins_and_hosts_against_allowed_hosts(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "[::1]", ".example.org"]
    assert origin_allowed("http://[::1]:8000")
    assert not origin_allowed("http://[::1].evil.com")
    assert origin_allowed("https://wall.example.org")
    assert not origin_allowed(None)
    assert host_allowed("127.0.0.1:8000") and host_allowed("wall.example.org")
    assert not host_allowed("evil.com") and not host_allowed("") and not host_allowed(None)
