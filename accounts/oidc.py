"""Single sign-on: the hospital's OpenID Connect provider's access tokens (docs/sign-in.md).

With DASHBOARD_OIDC_ISSUER set, a token whose `iss` is that issuer is checked here
instead of by simplejwt, wherever a token is accepted (REST, the ticket endpoint,
`authenticate` on the socket):

- its signature with PyJWT against the provider's JWKS, found through the
  discovery document and kept by PyJWT's PyJWKClient; a `kid` it does not
  know makes it fetch the JWKS again (at most once per
  DASHBOARD_OIDC_JWKS_COOLDOWN_SECONDS), so rotated keys work without a
  restart;
- only the algorithms in DASHBOARD_OIDC_ALGORITHMS (RS256, ES256): `none`
  and every HMAC algorithm are refused before any key is looked up;
- `iss`, `aud` (DASHBOARD_OIDC_AUDIENCE), `exp` (required), `sub`.

The user is created on first use and updated on every use from the claims:
the level from the groups claim (DASHBOARD_OIDC_LEVEL_GROUPS), the departments
from the departments claim. A change is announced to open sockets
(accounts/changes.py): a scope change, or 4003 when no level is left.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from audit.events import Actor, Where

from .audit_trail import access_changed, access_state
from .changes import announce_access_change
from .models import DashboardProfile, Department, Level, ProviderIdentity

logger = logging.getLogger("dashboard.accounts")

# The strongest level wins when a user is in several level groups.
LEVEL_ORDER = (Level.SUPER_ADMIN, Level.ADMIN, Level.VIEWER)


class ProviderTokenRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def enabled() -> bool:
    return bool(settings.DASHBOARD_OIDC_ISSUER)


def unverified_issuer(raw: str) -> str | None:
    """The `iss` a token claims, unverified (only to route it to the right check)."""
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def is_provider_token(raw: object) -> bool:
    return enabled() and isinstance(raw, str) and unverified_issuer(raw) == issuer()


def issuer() -> str:
    return str(settings.DASHBOARD_OIDC_ISSUER).rstrip("/")


# --- discovery and keys -----------------------------------------------------------------------
class _Provider:
    """The discovery document and a JWKS client, fetched once per process (and per issuer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._discovery: dict | None = None
        self._jwks: jwt.PyJWKClient | None = None

    def reset(self) -> None:
        with self._lock:
            self._issuer, self._discovery, self._jwks = None, None, None

    def discovery(self) -> dict:
        with self._lock:
            if self._issuer != issuer() or self._discovery is None:
                url = issuer() + "/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=settings.DASHBOARD_OIDC_TIMEOUT) as answer:
                    document = json.loads(answer.read())
                if document.get("issuer", "").rstrip("/") != issuer():
                    raise ValueError(f"the discovery document at {url} names another issuer")
                self._issuer, self._discovery, self._jwks = issuer(), document, None
            return self._discovery

    def jwks(self) -> jwt.PyJWKClient:
        document = self.discovery()
        with self._lock:
            if self._jwks is None:
                self._jwks = jwt.PyJWKClient(
                    document["jwks_uri"],
                    cache_keys=False,  # the JWK set is cached (lifespan); keys looked up by kid
                    lifespan=settings.DASHBOARD_OIDC_JWKS_CACHE_SECONDS,
                    timeout=settings.DASHBOARD_OIDC_TIMEOUT,
                    cooldown_duration=settings.DASHBOARD_OIDC_JWKS_COOLDOWN_SECONDS,
                )
            return self._jwks


provider = _Provider()


def page_config() -> dict | None:
    """What the bundled page needs to sign in through the provider (None: not configured or the
    provider cannot be reached right now)."""
    if not enabled() or not settings.DASHBOARD_OIDC_CLIENT_ID:
        return None
    try:
        document = provider.discovery()
    except Exception as exc:
        logger.warning("the identity provider's discovery failed: %s: %s", type(exc).__name__, exc)
        return None
    return {
        "issuer": issuer(),
        "authorize": document["authorization_endpoint"],
        "token": document["token_endpoint"],
        "clientId": settings.DASHBOARD_OIDC_CLIENT_ID,
        "scope": settings.DASHBOARD_OIDC_SCOPES,
        "name": settings.DASHBOARD_OIDC_PROVIDER_NAME,
    }


# --- checking a token -------------------------------------------------------------------------
@dataclass(frozen=True)
class ProviderToken:
    claims: dict[str, Any]

    @property
    def expires_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(int(self.claims["exp"]), tz=dt.UTC)

    def __getitem__(self, key: str) -> Any:  # request.auth["exp"], as for simplejwt's tokens
        return self.claims[key]


def verify(raw: str) -> ProviderToken:
    """A provider's access token, verified; ProviderTokenRefused (`invalid_token`,
    `token_expired`) otherwise."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError as exc:
        raise ProviderTokenRefused("invalid_token", "malformed token") from exc
    algorithm = header.get("alg")
    allowed = list(settings.DASHBOARD_OIDC_ALGORITHMS)
    if algorithm not in allowed:
        raise ProviderTokenRefused("invalid_token", f"algorithm {algorithm!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ProviderTokenRefused("invalid_token", "the token names no key")
    try:
        key = provider.jwks().get_signing_key(kid)
    except jwt.PyJWKClientError as exc:
        raise ProviderTokenRefused("invalid_token", "unknown signing key") from exc
    except Exception as exc:  # the provider cannot be reached
        logger.warning("the identity provider's keys are unavailable: %s", exc)
        raise ProviderTokenRefused("invalid_token", "the provider's keys are unavailable") from exc
    try:
        claims = jwt.decode(
            raw,
            key.key,
            algorithms=[algorithm],
            audience=settings.DASHBOARD_OIDC_AUDIENCE or settings.DASHBOARD_OIDC_CLIENT_ID,
            issuer=issuer(),
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ProviderTokenRefused("token_expired", "the token expired") from exc
    except jwt.PyJWTError as exc:
        raise ProviderTokenRefused("invalid_token", str(exc)) from exc
    return ProviderToken(claims)


# --- users from claims ------------------------------------------------------------------------
def level_from(claims: dict) -> str:
    groups = _strings(claims.get(settings.DASHBOARD_OIDC_GROUPS_CLAIM))
    mapping: dict[str, str] = settings.DASHBOARD_OIDC_LEVEL_GROUPS
    for level in LEVEL_ORDER:
        group = mapping.get(level)
        if group and group in groups:
            return level
    return ""


def departments_from(claims: dict) -> set[str]:
    return set(_strings(claims.get(settings.DASHBOARD_OIDC_DEPARTMENTS_CLAIM)))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", " ").split() if part.strip()]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def user_for(token: ProviderToken):
    """The dashboard user of a verified token: created on first use, its level and departments
    brought in line with the claims (open sockets are told when they change)."""
    claims = token.claims
    subject = str(claims["sub"])
    for _ in range(2):  # two first requests of one new user at once: the loser reads the winner's
        try:
            with transaction.atomic():
                return _sync(subject, claims)
        except IntegrityError:
            continue
    return _sync(subject, claims)


def _sync(subject: str, claims: dict):
    user_model = get_user_model()
    identity = (
        ProviderIdentity.objects.select_related("user")
        .filter(issuer=issuer(), subject=subject)
        .first()
    )
    before = access_state(identity.user) if identity is not None else None
    if identity is None:
        username = _free_username(claims, subject)
        user = user_model(username=username)
        user.set_unusable_password()
        user.save()
        identity = ProviderIdentity.objects.create(user=user, issuer=issuer(), subject=subject)
    user = identity.user
    profile, _ = DashboardProfile.objects.get_or_create(user=user)
    level = level_from(claims)
    wanted = departments_from(claims)
    known = set(Department.objects.filter(code__in=wanted).values_list("code", flat=True))
    current = set(profile.departments.values_list("code", flat=True))
    changed = profile.level != level or current != known
    if changed:
        profile.level = level
        profile.save(update_fields=["level", "updated_at"])
        profile.departments.set(list(Department.objects.filter(code__in=known)))
        announce_access_change([user.pk])
    if changed or before is None:
        # On the audit trail as the provider's doing: the claims decided it.
        by, where = Actor(username="identity provider"), Where(channel="provider")
        after = access_state(user)
        access_changed(user, before, after, by, where, via="identity provider", issuer=issuer())
    names = {
        "email": claims.get("email") or "",
        "first_name": claims.get("given_name") or "",
        "last_name": claims.get("family_name") or "",
    }
    names = {k: str(v)[:150] for k, v in names.items()}
    if any(getattr(user, k) != v for k, v in names.items()):
        user_model.objects.filter(pk=user.pk).update(**names)
    return user_model.objects.select_related("dashboard_profile").get(pk=user.pk)


def _free_username(claims: dict, subject: str) -> str:
    user_model = get_user_model()
    base = str(claims.get(settings.DASHBOARD_OIDC_USERNAME_CLAIM) or subject)[:140]
    if not user_model.objects.filter(username=base).exists():
        return base
    # A local account already has that name: the provider's user gets its own.
    return f"{base}@sso"[:150]
