"""Which peers may say who the client is: the trusted reverse proxies (DASHBOARD_TRUSTED_PROXIES).

A proxy appends the address it received the request from to X-Forwarded-For,
after whatever the client sent. So the header is read from the right: the
first address that is not itself a trusted proxy is the client; anything to
its left was written by the client and proves nothing. A request whose
connecting peer is not a trusted proxy keeps that peer as its client, header
or not. uvicorn reads the header this way itself (`forwarded_allow_ips`);
daphne takes the leftmost address from any peer, so live/sockets/servers.py gives it
`forwarded_client` instead.

Imported by the settings: nothing here reads them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(name: str, values: Iterable[str]) -> list[str]:
    """The entries of setting `name`, each an IP address or a network; a malformed one stops
    start-up with its name rather than trusting something else than meant."""
    entries = []
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {value!r} is neither an IP address nor a network (10.0.0.0/8)"
            ) from exc
        entries.append(value)
    return entries


def refuse_proxy_count(count: int) -> None:
    """DASHBOARD_NUM_PROXIES (a number of proxies, trusted from any peer) is gone: a count cannot
    tell a proxy's header from a client's. Setting it stops start-up with what to set instead,
    rather than silently counting every client behind the proxy as one."""
    if count:
        raise ImproperlyConfigured(
            "DASHBOARD_NUM_PROXIES is replaced by DASHBOARD_TRUSTED_PROXIES: set it to the "
            "addresses (or networks) of the proxies in front, e.g. DASHBOARD_TRUSTED_PROXIES="
            "10.0.0.5, and unset DASHBOARD_NUM_PROXIES"
        )


class TrustedProxies:
    """The trusted proxies of a process, and the client address they vouch for."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.networks: list[Network] = [ipaddress.ip_network(e, strict=False) for e in entries]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str | None) -> bool:
        if not host:
            return False
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The client of a request from `peer` carrying these X-Forwarded-For values (in order)."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self.trusts(hop):
                return hop
        # Every hop is a trusted proxy: the leftmost is as close to the client as it gets.
        return next((hop for hop in hops if hop), peer)
