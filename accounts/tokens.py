"""JWTs for the dashboard: issuing pairs, rotating refresh tokens, checking access tokens.

Tokens are simplejwt's, signed with the one algorithm pinned in settings
(HS256); its backend refuses any other `alg`, `none` included. Every check
reloads the user from the database: the claims only say who the token is for,
never what that user may still do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import update_last_login
from django.db import IntegrityError, OperationalError, transaction
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from . import oidc
from .permissions import NoDashboardAccess
from .policy import NO_ACCESS, Access, access_for

MAX_TOKEN_LENGTH = 8192

INVALID_TOKEN = "invalid_token"
TOKEN_EXPIRED = "token_expired"
USER_INACTIVE = "user_inactive"
NO_DASHBOARD_ACCESS = "no_dashboard_access"

# PostgreSQL's serialization failure and deadlock: under a stricter isolation level than
# READ COMMITTED, the losing side of concurrent rotations of one token gets one of these.
LOST_RACE_SQLSTATES = {"40001", "40P01"}


@dataclass(frozen=True)
class TokenCheck:
    """The answer to "may this access token open a dashboard stream?"."""

    ok: bool
    error: str | None = None
    access: Access | None = None
    expires_at: dt.datetime | None = None


class LocalAccountsDisabled(exceptions.PermissionDenied):
    default_code = "local_accounts_disabled"
    default_detail = "Sign in through the hospital's identity provider."


class TokenRefused(exceptions.AuthenticationFailed):
    """A refresh token that cannot be used; `code` is one of the auth_error values."""

    default_code = INVALID_TOKEN


def validate_access_token(raw: str) -> TokenCheck:
    """Check an access token and load its user's current access from the database (synchronous)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    if oidc.is_provider_token(raw):
        return _provider_check(raw)
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]  # annotated Token, takes the string
    except ExpiredTokenError:
        return TokenCheck(ok=False, error=TOKEN_EXPIRED)
    except TokenError:
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    return check_user(_user_for(token), dt.datetime.fromtimestamp(token["exp"], tz=dt.UTC))


def _provider_check(raw: str) -> TokenCheck:
    """The identity provider's access token (accounts/oidc.py); its user brought up to date."""
    try:
        token = oidc.verify(raw)
    except oidc.ProviderTokenRefused as exc:
        return TokenCheck(ok=False, error=exc.code)
    return check_user(oidc.user_for(token), token.expires_at)


def check_user(user, expires_at: dt.datetime) -> TokenCheck:
    """May `user` (None: unknown) open a dashboard stream until `expires_at`? Its current access."""
    if user is None:
        return TokenCheck(ok=False, error=INVALID_TOKEN)
    access = access_for(user)
    error = _access_problem(access)
    if error is not None:
        return TokenCheck(ok=False, error=error, access=access)
    return TokenCheck(ok=True, access=access, expires_at=expires_at)


def reload_access(user_id: int) -> Access:
    """A user's current access, for periodic re-validation; a deleted user has none (inactive)."""
    user = load_user(user_id)
    if user is None:
        return replace(NO_ACCESS, user_id=user_id)
    return access_for(user)


def issue_tokens(user) -> RefreshToken:
    """A new refresh token (its access token via `.access_token`) carrying the dashboard claims."""
    access = access_for(user)
    refresh = RefreshToken.for_user(user)
    refresh["username"] = access.username
    refresh["level"] = access.level
    refresh["departments"] = sorted(access.departments)
    return refresh


def rotate_refresh_token(raw: str) -> RefreshToken:
    """Blacklist a refresh token and issue a fresh pair, after re-checking its user in the database."""
    old = verified_refresh_token(raw)
    user = _user_for(old)
    if user is None:
        raise TokenRefused("This token's user no longer exists.", INVALID_TOKEN)
    _require_dashboard_access(access_for(user))
    if not settings.DASHBOARD_LOCAL_ACCOUNTS:
        raise LocalAccountsDisabled()  # local sessions end at their next refresh
    try:
        with transaction.atomic():
            # blacklist() returns get_or_create's pair, whatever its annotation says.
            blacklisted: tuple[Any, bool] = old.blacklist()  # type: ignore[assignment]
            if not blacklisted[1]:
                # Another request rotated the same token a moment ago.
                raise TokenRefused("Token is blacklisted", INVALID_TOKEN)
            return issue_tokens(user)
    except IntegrityError as exc:
        # Concurrent rotations of one token: the blacklist's unique constraint let one win.
        raise TokenRefused("Token is blacklisted", INVALID_TOKEN) from exc
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) not in LOST_RACE_SQLSTATES:
            raise
        raise TokenRefused("Token is blacklisted", INVALID_TOKEN) from exc


def revoke_refresh_token(raw: str) -> RefreshToken:
    """Blacklist a refresh token (logout); the token revoked."""
    token = verified_refresh_token(raw)
    token.blacklist()
    return token


def verified_refresh_token(raw: str) -> RefreshToken:
    """A refresh token with a valid signature, not expired, not blacklisted; else TokenRefused."""
    if len(raw) > MAX_TOKEN_LENGTH:
        raise TokenRefused("Token is invalid", INVALID_TOKEN)
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # annotated Token, takes the string
    except ExpiredTokenError as exc:
        raise TokenRefused(str(exc), TOKEN_EXPIRED) from exc
    except TokenError as exc:
        raise TokenRefused(str(exc), INVALID_TOKEN) from exc


class DashboardTokenObtainSerializer(serializers.Serializer):
    """`{username, password}` → `{access, refresh}` for an active user with a dashboard level."""

    username = serializers.CharField(max_length=256, write_only=True, trim_whitespace=False)
    password = serializers.CharField(
        max_length=4096, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        if not settings.DASHBOARD_LOCAL_ACCOUNTS:
            raise LocalAccountsDisabled()
        user = authenticate(
            self.context.get("request"), username=attrs["username"], password=attrs["password"]
        )
        # ModelBackend already refuses inactive users; the check stays for other backends.
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(
                "Invalid username or password.", "invalid_credentials"
            )
        access = access_for(user)
        if not access.has_dashboard_access:
            raise NoDashboardAccess()
        self.signed_in = access  # who signed in, for the audit trail
        refresh = issue_tokens(user)
        if api_settings.UPDATE_LAST_LOGIN:
            update_last_login(type(user), user)
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


class DashboardTokenRefreshSerializer(serializers.Serializer):
    """`{refresh}` → `{access, refresh}`: the old refresh token is blacklisted (rotation)."""

    refresh = serializers.CharField()
    access = serializers.CharField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        refresh = rotate_refresh_token(attrs["refresh"])
        self.issued = refresh  # whose token it was, for the audit trail
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(write_only=True)


def _access_problem(access: Access) -> str | None:
    if not access.is_active:
        return USER_INACTIVE
    if not access.has_dashboard_access:
        return NO_DASHBOARD_ACCESS
    return None


def _require_dashboard_access(access: Access) -> None:
    problem = _access_problem(access)
    if problem == USER_INACTIVE:
        raise TokenRefused("This user is inactive.", USER_INACTIVE)
    if problem == NO_DASHBOARD_ACCESS:
        raise NoDashboardAccess()


def _user_for(token):
    user_id = token.get(api_settings.USER_ID_CLAIM)
    try:
        return load_user(int(user_id))
    except (TypeError, ValueError):
        return None


def load_user(user_id: int):
    user_model = get_user_model()
    return (
        user_model.objects.select_related("dashboard_profile", "display_device")
        .filter(pk=user_id)
        .first()
    )
