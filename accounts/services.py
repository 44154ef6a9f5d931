"""Writes to dashboard accounts: one function each, shared by commands and the demo setup."""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import password_changed, validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.events import Actor, Where

from .audit_trail import access_changed, access_state
from .models import DashboardProfile, Department, Level


class DashboardUserError(ValueError):
    """The request cannot be carried out as given (unknown level or department, bad name...)."""


def create_or_update_dashboard_user(
    *,
    username: str,
    level: str,
    departments: Iterable[str],
    password: str | None = None,
    changed_by: str = "a command",
):
    """Create a dashboard user, or update an existing one's level, departments and password.

    Returns the user and the password generated for it: a new user given no
    password gets a random one; an existing user given none keeps its own
    (the second item is then None, as it is whenever a password is given).
    The change goes on the audit trail as made by `changed_by` (a command's name) as the
    operating system's user.
    """
    if level not in Level.values:
        raise DashboardUserError(
            f"Unknown level {level!r}: choose one of {', '.join(Level.values)}."
        )
    codes = sorted({code.strip() for code in departments if code.strip()})
    known = set(Department.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise DashboardUserError(
            f"Unknown department code(s): {', '.join(unknown)}. "
            f"Known codes: {', '.join(Department.objects.values_list('code', flat=True)) or 'none'}."
        )
    user_model = get_user_model()
    username = _clean_username(user_model, username)
    # Validating and hashing the password take a while (hashing on purpose): both are done
    # before the write transaction, which on SQLite holds the database's one write lock.
    existing = user_model.objects.filter(username=username).first()
    before = access_state(existing)
    generated = hashed = None
    if existing is None and password is None:
        password = generated = secrets.token_urlsafe(12)
    if password is not None:
        _check_password(password, existing or user_model(username=username))
        hashed = make_password(password)
    with transaction.atomic():
        user = user_model.objects.filter(username=username).first() or user_model(username=username)
        if hashed is not None:
            user.password = hashed
        user.save()
        profile, _ = DashboardProfile.objects.get_or_create(user=user)
        profile.level = level
        profile.departments.set(Department.objects.filter(code__in=codes))
        # Saved after the departments so updated_at covers both changes.
        profile.save()
    if password is not None:
        password_changed(password, user)  # what save() does after set_password()
    where = Where(address="local", channel="command")
    access_changed(user, before, access_state(user), _command_actor(), where, via=changed_by)
    return user, generated


def _command_actor() -> Actor:
    """Who ran a command: the operating system's user."""
    try:
        return Actor(username=getpass.getuser())
    except Exception:  # no such user in this container
        return Actor()


def _clean_username(user_model, username: str) -> str:
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        return field.clean(user_model.normalize_username(username), None)
    except ValidationError as exc:
        raise DashboardUserError(
            f"Invalid username {username!r}: {' '.join(exc.messages)}"
        ) from exc


def _check_password(password: str, user) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DashboardUserError(f"Password refused: {' '.join(exc.messages)}") from exc
