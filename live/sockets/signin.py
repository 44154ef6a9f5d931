"""Signing in on a socket: a ticket in the handshake or `authenticate`, token expiry, and access
re-read while it is open."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from accounts.policy import Access
from accounts.tickets import redeem_ticket
from accounts.tokens import INVALID_TOKEN, TokenCheck, validate_access_token
from metrics.values import iso_utc
from runtime import telemetry
from runtime.off_loop import off_loop

from . import auditing, protocol, revalidation
from .admission import Arrival, admission, principal_of
from .hub import hub
from .protocol import ClientMessage
from .websocket import DashboardSocket

logger = logging.getLogger("dashboard.ws")

EXPIRY_GRACE_SECONDS = 10.0
MAX_AUTH_FAILURES = 3


class SigningInSocket(DashboardSocket):
    # --- the handshake: a ticket, or `authenticate` within 10 s -------------------------------------
    async def connect(self) -> None:
        self.address = client_address(self.scope)
        ticket = handshake_value(self.scope, "ticket")
        # What `authenticate` says with `batch`, a ticket's handshake says with `?batch=true`.
        self.outbox.batch = handshake_value(self.scope, "batch") == "true"
        check = await _redeem(ticket) if ticket is not None else None
        proven = check is not None and check.ok and check.access is not None
        principal = principal_of(check.access.user_id) if proven else None  # type: ignore[union-attr]
        if not await self.take_slot(Arrival(self.address, principal)):
            return
        if proven:
            assert check is not None
            await self._sign_in(check, None)
            return
        if ticket is not None:
            telemetry.errors.labels(kind="auth_failed").inc()
            auditing.signin_failed(self, "invalid_ticket")
            await self.send_message(protocol.auth_error("invalid_ticket"))
        self.wait_for_authenticate()

    # --- authentication -----------------------------------------------------------------------------
    async def handle_authenticate(self, message: ClientMessage) -> None:
        check = await database_sync_to_async(validate_access_token)(message.token)
        if not check.ok or check.access is None:
            self.auth_failures += 1
            telemetry.errors.labels(kind="auth_failed").inc()
            auditing.signin_failed(self, check.error)
            await self.send_message(protocol.auth_error(check.error, message.request_id))
            if self.auth_failures >= MAX_AUTH_FAILURES:
                await self.close(code=protocol.CLOSE_AUTH_FAILED)
            return
        if self.signed_in and check.access.user_id != self.access.user_id:
            # A valid token, but of someone else: a signed-in socket never changes identity
            # (docs/websocket-api.md). Refused; the socket stays as it was.
            telemetry.errors.labels(kind="auth_different_user").inc()
            await self.send_message(protocol.auth_error("different_user", message.request_id))
            return
        arrival = Arrival(self.address, principal_of(check.access.user_id))
        refusal = admission.signed_in(self, arrival)
        if refusal is not None:
            auditing.admission_refused(self, refusal, check.access)
            await self.close(code=refusal)
            return
        self.outbox.batch = message.batch
        await self._sign_in(check, message.request_id)

    async def _sign_in(self, check: TokenCheck, request_id: str | None) -> None:
        """A valid token or ticket: the stream runs (again) until it expires."""
        assert check.access is not None
        was_paused = self.paused
        self._cancel("auth")
        self._cancel("grace")
        self.paused = False
        await self._apply_access(check.access)
        auditing.signed_in(self)
        if check.expires_at is not None:
            delay = (check.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            self._schedule("expiry", max(0.0, delay), self._token_expired)
        if "revalidate" not in self.timers:
            self.timers["revalidate"] = asyncio.create_task(self._revalidate_loop())
        access = self.access
        await self.send_message(
            protocol.with_request_id(
                {
                    "type": "authenticated",
                    "success": True,
                    "user": {"id": access.user_id, "username": access.username},
                    **access_fields(access),
                    "expiresAt": iso_utc(check.expires_at) if check.expires_at else None,
                },
                request_id,
            )
        )
        if was_paused:
            await self._send_current(self.subscriptions.names())

    async def _apply_access(self, access: Access) -> None:
        """Take a (re)loaded access: leave what it may no longer see, move to its scope.

        On an open socket whose access changed, `access_changed` goes out after the socket has
        left its old scope and before it joins the new one, so no value of the new scope comes
        before it and no value of a metric it may no longer see comes after it. Subscribing and
        snapshots wait for the change (the same lock), so they are wholly on one side of it.
        """
        async with self.access_lock:
            previous, was_signed_in = self.access, self.signed_in
            self.access, self.signed_in = access, True
            if not was_signed_in:
                return
            moved = access.scope != previous.scope
            dropped, kept = [], []
            for metric in self.subscriptions.names():
                if not access.can_see(metric):
                    hub.leave(self, metric, previous.scope)
                    self.subscriptions.discard(metric)
                    self.outbox.forget(metric)
                    dropped.append(metric)
                elif moved:
                    hub.leave(self, metric, previous.scope)
                    self.subscriptions.restart_versions(metric)
                    self.outbox.forget(metric)
                    kept.append(metric)
            if access_fields(access) != access_fields(previous):
                await self.send_message(protocol.access_changed(access_fields(access)))
            for metric in kept:
                hub.join(self, metric, access.scope)
            if dropped or kept:
                await self._send_subscriptions(None)
            if kept:
                await self._send_current(kept)

    async def _token_expired(self) -> None:
        self.paused = True
        await self.send_message(protocol.auth_error("token_expired"))
        self._schedule("grace", EXPIRY_GRACE_SECONDS, self._close_unauthenticated)

    async def _revalidate_loop(self) -> None:
        """Re-read the user's level, departments and active flag (docs/accounts.md)."""
        delay = revalidation.first_delay()
        while not self.closing:
            await asyncio.sleep(delay)
            delay = revalidation.period()
            user_id = self.access.user_id
            if user_id is None:  # never signed in: nothing to re-read
                continue
            try:
                access = await revalidation.access_reloader.reload(user_id)
            except Exception as exc:  # the database is away: keep the access, try next period
                logger.warning("re-validating user %s failed: %s", user_id, exc)
                continue
            if not await self._take_reloaded(access):
                return

    async def revalidate_now(self) -> None:
        """This user's access changed (accounts/changes.py, through the hub): re-read it now."""
        user_id = self.access.user_id
        if user_id is None or self.closing or not self.signed_in:
            return
        try:
            access = await revalidation.access_reloader.reload(user_id, fresh=True)
        except Exception as exc:  # the database is away: the periodic re-read tries again
            logger.warning("re-validating user %s failed: %s", user_id, exc)
            return
        if not self.closing:
            await self._take_reloaded(access)

    async def _take_reloaded(self, access: Access) -> bool:
        """Apply a re-read access; False when it ends the socket (4003)."""
        if not access.has_dashboard_access:
            reason = "user_inactive" if not access.is_active else "no_dashboard_access"
            await self.send_message(protocol.auth_error(reason))
            await self.close(code=protocol.CLOSE_ACCESS_REVOKED)
            return False
        if access != self.access:
            await self._apply_access(access)
        return True


def access_fields(access: Access) -> dict:
    """What a socket is told about its access, in `authenticated` and `access_changed`."""
    return {
        "kind": access.kind,
        "level": access.level,
        "departments": sorted(access.departments),
        "metrics": access.live_metrics,
    }


def handshake_value(scope, name: str) -> str | None:
    """A value of the handshake's query string, if it has one."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get(name)
    return values[0] if values else None


def client_address(scope) -> str:
    """The connecting address as the server gives it (from a trusted proxy's header when one
    is configured)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _redeem(ticket: str) -> TokenCheck:
    try:
        # In the thread pool, not the one thread of sync views: a crowd reconnecting at once
        # redeems in parallel with the ticket requests that precede it.
        return await off_loop(redeem_ticket)(ticket)
    except Exception as exc:  # the cache or the database is away: sign in by message instead
        logger.warning("a ticket could not be checked: %s: %s", type(exc).__name__, exc)
        return TokenCheck(ok=False, error=INVALID_TOKEN)
