"""Request limits kept in Django's cache: logins per client address and per username (on
runtime.throttling.CacheThrottle, the base class every throttle of the project shares)."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping

from runtime.throttling import CacheThrottle


class LoginIPThrottle(CacheThrottle):
    """Attempts from one client address (scope `login_ip`)."""

    scope = "login_ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class LoginUsernameThrottle(CacheThrottle):
    """Attempts at one username, from anywhere (scope `login_user`)."""

    scope = "login_user"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        username = data.get("username") if isinstance(data, Mapping) else None
        if not isinstance(username, str) or not username.strip():
            return None
        digest = hashlib.sha256(normalize_username(username).encode()).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}


def normalize_username(username: str) -> str:
    """The form attempts are counted under: "Alice", " alice " and "ＡＬＩＣＥ" are one username."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


def client_address(request) -> str:
    """The connecting address (REMOTE_ADDR), never a header a client could write.

    When a trusted proxy is in front (DASHBOARD_TRUSTED_PROXIES), the server
    has already put the client's address there from X-Forwarded-For, and only
    for requests from that proxy (live/sockets/servers.py).
    """
    return request.META.get("REMOTE_ADDR") or "unknown"


# The login limits, for the API's login and the Django admin's alike: one count per address and
# one per username, whichever door an attempt comes through.
LOGIN_THROTTLES = (LoginIPThrottle, LoginUsernameThrottle)


def login_wait(request) -> float | None:
    """Count a login attempt (a DRF request, or a form post wrapped in one); the seconds to wait
    when it is over a limit, else None. As DRF's own check does: every limit counts the attempt,
    the longest wait is answered."""
    waits = []
    for throttle_class in LOGIN_THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 0.0)
    return max(waits) if waits else None
