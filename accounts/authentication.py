"""DRF authentication: simplejwt's own tokens, and the identity provider's when single sign-on is
configured (accounts/oidc.py). A token is routed by the issuer it names; each is then fully
checked by its own verifier."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)

from . import oidc


class _ProviderTokens:
    def authenticate(self, request):
        header = self.get_header(request)  # type: ignore[attr-defined]
        raw = self.get_raw_token(header) if header is not None else None  # type: ignore[attr-defined]
        text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        if text is None or not oidc.is_provider_token(text):
            return super().authenticate(request)  # type: ignore[misc]
        try:
            token = oidc.verify(text)
        except oidc.ProviderTokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc), "token_not_valid") from None
        user = oidc.user_for(token)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This user is inactive.", "user_inactive")
        return user, token


class DashboardAuthentication(_ProviderTokens, JWTAuthentication):
    """Every REST endpoint's: the user is read from the database."""


class DashboardStatelessAuthentication(_ProviderTokens, JWTStatelessUserAuthentication):
    """The ticket endpoint's: a dashboard token by its signature and expiry only; a provider's
    token also brings its user up to date (created on first use)."""


class DashboardJWTScheme(SimpleJWTScheme):
    """The OpenAPI schema's `jwtAuth`: the same bearer token, whichever issuer made it."""

    target_class = "accounts.authentication.DashboardAuthentication"
