"""One-time tickets: how a dashboard socket proves who it is in its handshake.

A browser cannot set headers on a WebSocket handshake, and a JWT in a URL
would end up in proxies' logs, valid for minutes. So a client holding an
access token asks `POST /api/auth/ticket/` for a ticket and opens
`/ws/dashboard/?ticket=<ticket>`: the socket is admitted signed in, before it
takes a slot meant for sockets that have not signed in yet
(live/sockets/admission.py). A ticket:

- is signed with the project's secret and names the user and the end of the
  access token it was issued for (the socket's session ends there, as it
  would after `authenticate` with that token);
- lives TICKET_SECONDS (30 s) and is accepted once, across every worker and
  instance sharing the cache (Redis); seen again, it is refused;
- reloads the user's access from the database when redeemed, like a token.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.core import signing
from django.core.cache import cache

from .tokens import INVALID_TOKEN, TokenCheck, check_user, load_user

TICKET_SECONDS = 30
MAX_TICKET_LENGTH = 512
_SALT = "dashboard.socket-ticket"
_USED = "socket-ticket-used:"


def issue_ticket(user_id: int, token_expires_at: dt.datetime) -> tuple[str, dt.datetime]:
    """A ticket for `user_id`'s next socket, and when it stops being accepted."""
    claims = {"u": user_id, "n": secrets.token_urlsafe(16), "x": int(token_expires_at.timestamp())}
    ticket = signing.dumps(claims, salt=_SALT)
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=TICKET_SECONDS)
    return ticket, min(expires_at, token_expires_at)


def redeem_ticket(raw: str) -> TokenCheck:
    """Check a ticket and use it up (synchronous: it reads the database and the cache)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TICKET_LENGTH:
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    try:
        claims = signing.loads(raw, salt=_SALT, max_age=TICKET_SECONDS)
        user_id, nonce = int(claims["u"]), str(claims["n"])
        token_expires_at = dt.datetime.fromtimestamp(int(claims["x"]), tz=dt.UTC)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    if token_expires_at <= dt.datetime.now(dt.UTC):
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    # add() is atomic in Redis (SET NX) and in the in-process cache: one redeemer wins.
    if not cache.add(_USED + nonce, 1, timeout=TICKET_SECONDS + 5):
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    return check_user(load_user(user_id), token_expires_at)
