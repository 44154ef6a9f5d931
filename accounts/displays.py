"""Display devices: pairing a wall screen, its device credential, revoking it (docs/sign-in.md).

1. The screen, opened at `/display/`, asks for a pairing (`start_pairing`): a short code it
   shows, and a long pairing id only it knows. Both live in Django's cache (Redis when
   configured) for DASHBOARD_DISPLAY_PAIRING_SECONDS.
2. A super admin types the code on the display's page in Django admin (`confirm_pairing`):
   the display gets a new device credential, a long random secret kept in the database only as
   its SHA-256 digest. The secret waits in the pairing for the screen to collect it, once.
3. The screen exchanges its credential for access tokens (`exchange`), each living
   DASHBOARD_DISPLAY_TOKEN_MINUTES, and renews them by itself. The credential never expires
   while in use: it lapses only after DASHBOARD_DISPLAY_IDLE_DAYS without an exchange.
4. Revoking (`revoke`) clears the digest and deactivates the display's internal user, then
   tells every server process (accounts/changes.py): its sockets close with 4003 at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from .changes import announce_access_change
from .models import DisplayDevice

# Letters and digits that cannot be read one for another on a screen across a corridor.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_PAIRING_ID_LENGTH = 64
MAX_SECRET_LENGTH = 128
_CODE = "display-pairing-code:"
_PAIRING = "display-pairing:"

INVALID_CREDENTIAL = "invalid_credential"
CREDENTIAL_EXPIRED = "credential_expired"


class DisplayRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PairingNotFound(Exception):
    """No waiting pairing has that code (mistyped, expired or already used)."""


@dataclass(frozen=True)
class Pairing:
    pairing_id: str
    code: str
    expires_at: dt.datetime


def pairing_seconds() -> int:
    return int(settings.DASHBOARD_DISPLAY_PAIRING_SECONDS)


def normalize_code(code: str) -> str:
    """What an admin types ("abc-234", " ABC 234 ") as the code the screen shows."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_code(code: str) -> str:
    """The code as shown and typed: two groups of three ("ABC-234")."""
    return f"{code[:3]}-{code[3:]}"


def start_pairing() -> Pairing:
    """A new code for a screen to show, and the id it polls with."""
    pairing_id = secrets.token_urlsafe(32)
    timeout = pairing_seconds()
    for _ in range(20):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        # add() is atomic: two screens never hold one code at the same time.
        if cache.add(_CODE + code, pairing_id, timeout=timeout):
            break
    else:  # pragma: no cover - 32**6 codes; only a flood could get here, and the throttle stops it
        raise RuntimeError("no free pairing code")
    cache.set(_PAIRING + pairing_id, {"status": "waiting", "code": code}, timeout=timeout)
    expires_at = timezone.now() + dt.timedelta(seconds=timeout)
    return Pairing(pairing_id, format_code(code), expires_at)


def pairing_status(pairing_id: str) -> dict | None:
    """`{"status": "waiting"}`, or once `{"status": "paired", device, secret, name}`; None when
    the pairing is unknown or expired."""
    if not isinstance(pairing_id, str) or not pairing_id or len(pairing_id) > MAX_PAIRING_ID_LENGTH:
        return None
    key = _PAIRING + pairing_id
    state = cache.get(key)
    if not isinstance(state, dict):
        return None
    if state.get("status") != "paired":
        return {"status": "waiting"}
    # The secret is handed over once: the first poll that sees it takes it away.
    if not cache.delete(key):
        return None
    return {
        "status": "paired",
        "device": state["device"],
        "secret": state["secret"],
        "name": state["name"],
    }


def confirm_pairing(display: DisplayDevice, code: str) -> None:
    """Give `display` a new credential and hand it to the screen showing `code`.

    A display paired before loses its old credential: the old screen stops at its next renewal.
    """
    normalized = normalize_code(code)
    pairing_id = cache.get(_CODE + normalized) if len(normalized) == CODE_LENGTH else None
    state = cache.get(_PAIRING + pairing_id) if isinstance(pairing_id, str) else None
    if not isinstance(pairing_id, str) or not isinstance(state, dict):
        raise PairingNotFound(code)
    if state.get("status") != "waiting":
        raise PairingNotFound(code)
    if not cache.delete(_CODE + normalized):
        raise PairingNotFound(code)  # another admin confirmed it a moment ago
    secret = secrets.token_urlsafe(48)
    now = timezone.now()
    with transaction.atomic():
        display.secret_hash = digest(secret)
        display.active = True
        display.paired_at = now
        display.last_seen_at = now
        display.save(update_fields=["secret_hash", "active", "paired_at", "last_seen_at"])
        type(display.user).objects.filter(pk=display.user_id).update(is_active=True)
    cache.set(
        _PAIRING + pairing_id,
        {"status": "paired", "device": display.pk, "secret": secret, "name": display.name},
        timeout=pairing_seconds(),
    )
    announce_access_change([display.user_id])


def exchange(device_id: object, secret: object) -> tuple[str, dt.datetime, DisplayDevice]:
    """A display's credential → a fresh access token and when it expires (sliding: the
    credential's idle time starts again)."""
    if (
        not isinstance(device_id, int)
        or isinstance(device_id, bool)
        or not isinstance(secret, str)
        or not secret
        or len(secret) > MAX_SECRET_LENGTH
    ):
        raise DisplayRefused(INVALID_CREDENTIAL, "Unknown or revoked display credential.")
    display = DisplayDevice.objects.select_related("user").filter(pk=device_id).first()
    if (
        display is None
        or not display.active
        or not display.secret_hash
        or not display.user.is_active
        or not hmac.compare_digest(display.secret_hash, digest(secret))
    ):
        raise DisplayRefused(INVALID_CREDENTIAL, "Unknown or revoked display credential.")
    now = timezone.now()
    last = display.last_seen_at or display.paired_at or now
    if now - last > idle_limit():
        raise DisplayRefused(CREDENTIAL_EXPIRED, "This display was unused too long: pair it again.")
    # Only if still the same credential (a re-pairing or revocation meanwhile wins).
    DisplayDevice.objects.filter(pk=display.pk, secret_hash=display.secret_hash).update(
        last_seen_at=now
    )
    token = AccessToken.for_user(display.user)
    token.set_exp(lifetime=token_lifetime())
    token["kind"] = "display"
    token["display"] = display.pk
    expires_at = dt.datetime.fromtimestamp(token["exp"], tz=dt.UTC)
    return str(token), expires_at, display


def revoke(displays: list[DisplayDevice]) -> None:
    """Take displays off: credentials cleared, internal users inactive, sockets closed now."""
    ids = [d.pk for d in displays]
    user_ids = [d.user_id for d in displays]
    with transaction.atomic():
        DisplayDevice.objects.filter(pk__in=ids).update(active=False, secret_hash="")
        get_user_model().objects.filter(pk__in=user_ids).update(is_active=False)
    for display in displays:
        display.active, display.secret_hash = False, ""
    announce_access_change(user_ids)


def create_display_user(name: str):
    """The internal user a new display is carried by: no usable password, never staff."""
    user_model = get_user_model()
    user = user_model(username=f"display.{secrets.token_hex(8)}", first_name=name[:150])
    user.set_unusable_password()
    user.is_staff = user.is_superuser = False
    user.save()
    return user


def digest(secret: str) -> str:
    # The secret is 384 random bits: a plain digest is enough (nothing to guess, no salt needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def token_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=settings.DASHBOARD_DISPLAY_TOKEN_MINUTES)


def idle_limit() -> dt.timedelta:
    return dt.timedelta(days=settings.DASHBOARD_DISPLAY_IDLE_DAYS)
