"""What the accounts app puts on the audit trail (audit/events.py): sign-ins, token rounds and
sign-outs at the API, and changes to a user's dashboard access, by whom and through which door."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from rest_framework import exceptions
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.settings import api_settings

from audit.events import Actor, Where, actor_of, from_request, record

from .models import Level
from .policy import access_for


def _claims_actor(claims: Mapping[str, Any]) -> Actor:
    level = str(claims.get("level") or "")
    departments = claims.get("departments") or []
    return Actor(
        user_id=claims.get(api_settings.USER_ID_CLAIM),
        username=str(claims.get("username") or ""),
        level=level,
        departments="*" if level == Level.SUPER_ADMIN else ",".join(departments),
    )


def _signed_claims(raw: Any) -> Mapping[str, Any]:
    """The claims of a token sent in, when its signature holds (expired or revoked or not): who
    it was issued to. A forged token names nobody."""
    if not isinstance(raw, str) or len(raw) > 8192:
        return {}
    try:
        return jwt.decode(
            raw,
            api_settings.SIGNING_KEY,
            algorithms=[api_settings.ALGORITHM],
            options={"verify_exp": False, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return {}


def _body(request) -> Mapping[str, Any]:
    """The request's body as parsed, or nothing when it cannot be (not JSON, wrong type)."""
    try:
        data = request.data
    except (APIException, AttributeError):
        return {}
    return data if isinstance(data, Mapping) else {}


def token_issued(event: str, request, access=None, token=None) -> None:
    """A sign-in (`access`: who), refresh or sign-out (`token`: whose) that succeeded."""
    claims = getattr(token, "payload", None) or {}
    actor = actor_of(access) if access is not None else _claims_actor(claims)
    record(event, "success", actor, from_request(request))


def token_refused(event: str, request, exc: Exception) -> None:
    """A sign-in, refresh or sign-out refused: wrong password, no level, throttled, a bad,
    expired or blacklisted token, a malformed body."""
    body = _body(request)
    if event == "signin":
        actor = Actor(username=str(body.get("username") or "")[:256])
    else:
        actor = _claims_actor(_signed_claims(body.get("refresh")))
    status = getattr(exc, "status_code", 500)
    reason = _reason(exc)
    outcome = "refused" if status in (403, 429) else "failure"
    record(event, outcome, actor, from_request(request), reason=reason, status=status)


def _reason(exc: Exception) -> str:
    if not isinstance(exc, APIException):
        return type(exc).__name__
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    code = codes.get("code") if isinstance(codes, dict) else None
    if isinstance(code, str):
        return code  # simplejwt's token errors: {"detail", "code", "messages"}
    return "invalid_body"


def access_refused(request, exc: Exception, kind: str) -> None:
    """A metrics request refused: no, a bad or an expired access token (401), no level (403)."""
    if not isinstance(
        exc,
        (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied),
    ):
        return
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        actor = actor_of(access_for(user))
    else:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        actor = _claims_actor(_signed_claims(header.removeprefix("Bearer ").strip()))
    status = getattr(exc, "status_code", 401)
    record(
        "read_refused",
        "refused" if status == 403 else "failure",
        actor,
        from_request(request),
        kind=kind,
        reason=_reason(exc),
        status=status,
    )


def admin_throttled(request, username: str) -> None:
    record(
        "signin",
        "refused",
        Actor(username=username[:256]),
        from_request(request, "admin"),
        reason="throttled",
        status=429,
    )


# --- changes to a user's access ---------------------------------------------------------------------


def access_state(user) -> dict[str, Any] | None:
    """What the trail compares before and after a change: level, departments, active flag."""
    if user is None or user.pk is None:
        return None
    access = access_for(type(user).objects.select_related("dashboard_profile").get(pk=user.pk))
    return {
        "level": access.level or "",
        "departments": sorted(access.departments),
        "active": access.is_active,
    }


def access_changed(
    user, before: dict | None, after: dict | None, by: Actor, where: Where, **extra: Any
) -> None:
    """Record a user's creation, deletion, or the fields that changed (old → new)."""
    target = {"userId": user.pk, "user": user.get_username(), **extra}
    if before is None and after is not None:
        record("user_created", "success", by, where, **target, new=after)
    elif after is None and before is not None:
        record("user_deleted", "success", by, where, **target, old=before)
    elif before is not None and after is not None:
        changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        if changes:
            record("user_updated", "success", by, where, **target, changes=changes)
