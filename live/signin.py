"""Signing in on a socket: authenticate, token expiry, and access re-read while it is open."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from channels.db import database_sync_to_async

from accounts.policy import Access
from accounts.tokens import validate_access_token
from dashboard_project import telemetry
from metrics.values import iso_utc

from . import protocol, revalidation
from .admission import admission
from .hub import hub
from .protocol import ClientMessage
from .websocket import DashboardSocket

logger = logging.getLogger("dashboard.ws")

EXPIRY_GRACE_SECONDS = 10.0
MAX_AUTH_FAILURES = 3


class SigningInSocket(DashboardSocket):
    # --- authentication -----------------------------------------------------------------------------
    async def handle_authenticate(self, message: ClientMessage) -> None:
        check = await database_sync_to_async(validate_access_token)(message.token)
        if not check.ok:
            self.auth_failures += 1
            telemetry.errors.labels(kind="auth_failed").inc()
            await self.send_message(protocol.auth_error(check.error, message.request_id))
            if self.auth_failures >= MAX_AUTH_FAILURES:
                await self.close(code=protocol.CLOSE_AUTH_FAILED)
            return
        was_paused = self.paused
        self._cancel("auth")
        self._cancel("grace")
        self.paused = False
        admission.signed_in(self)
        await self._apply_access(check.access)
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
                    "level": access.level,
                    "departments": sorted(access.departments),
                    "metrics": access.live_metrics,
                    "expiresAt": iso_utc(check.expires_at) if check.expires_at else None,
                },
                message.request_id,
            )
        )
        if was_paused:
            for metric in self.subscriptions.names():
                await self._send_current(metric)

    async def _apply_access(self, access: Access) -> None:
        """Take a (re)loaded access: leave what it may no longer see, move to its scope."""
        previous = self.access
        self.access = access
        if previous is None:
            return
        changed = False
        for metric in self.subscriptions.names():
            if not access.can_see(metric):
                hub.leave(self, metric, previous.scope)
                self.subscriptions.discard(metric)
                changed = True
            elif access.scope != previous.scope:
                hub.leave(self, metric, previous.scope)
                hub.join(self, metric, access.scope)
                self.subscriptions.restart_versions(metric)
                changed = True
        if changed:
            await self._send_subscriptions(None)
            for metric in self.subscriptions.names():
                await self._send_current(metric)

    async def _token_expired(self) -> None:
        self.paused = True
        await self.send_message(protocol.auth_error("token_expired"))
        self._schedule("grace", EXPIRY_GRACE_SECONDS, self._close_unauthenticated)

    async def _revalidate_loop(self) -> None:
        """Re-read the user's level, departments and active flag (README: within 60 s)."""
        delay = revalidation.first_delay()
        while not self.closing:
            await asyncio.sleep(delay)
            delay = revalidation.period()
            try:
                access = await revalidation.access_reloader.reload(self.access.user_id)
            except Exception as exc:  # the database is away: keep the access, try next period
                logger.warning("re-validating user %s failed: %s", self.access.user_id, exc)
                continue
            if not access.has_dashboard_access:
                reason = "user_inactive" if not access.is_active else "no_dashboard_access"
                await self.send_message(protocol.auth_error(reason))
                await self.close(code=protocol.CLOSE_ACCESS_REVOKED)
                return
            if access != self.access:
                await self._apply_access(access)
