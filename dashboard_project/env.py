"""Every setting read from the environment goes through these helpers.

The embedded defaults need no variable at all; production swaps each part in
with one variable (docs/configuration.md).
"""

import os
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@overload
def env_str(name: str, default: str) -> str: ...


@overload
def env_str(name: str, default: None = None) -> str | None: ...


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def writable_directory(name: str, path: Path) -> None:
    """Create `path` if needed; a directory this process cannot write is a configuration error
    (one line, naming the setting), not a traceback from the first file opened in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name} ({path}) cannot be created: {exc.strerror}; set {name} to a directory "
            "this user can write"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ImproperlyConfigured(
            f"{name} ({path}) is not writable by this user; set {name} to a directory it can write"
        )


def level_groups(name: str, pairs: list[str]) -> dict[str, str]:
    """`level=group` pairs (single sign-on: a member of the group gets the level)."""
    levels = ("super_admin", "admin", "viewer")
    mapping: dict[str, str] = {}
    for pair in pairs:
        level, _, group = pair.partition("=")
        level, group = level.strip(), group.strip()
        if level not in levels or not group:
            raise ImproperlyConfigured(
                f"{name} takes level=group pairs with levels {', '.join(levels)}; got {pair!r}"
            )
        mapping[level] = group
    return mapping
