"""Comparing an incrementally kept base value with the full aggregation's.

A metric may merge in values from elsewhere (emergencyAlerts its acknowledgements, kept in
the dashboard's own database and merged into both values by the same function); its
`comparable` hook (metrics/definition.py) leaves them out of both sides.
"""

from __future__ import annotations

from typing import Any

from metrics.catalogue import METRICS

SHOWN = 5  # differences listed in a log line


def comparable(metric: str, base: dict) -> dict:
    """What a verification compares of the metric's base value."""
    hook = METRICS[metric].hook("comparable")
    return base if hook is None else hook(base)


def differences(kept: Any, recounted: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as "path: kept != recounted" lines (empty when equal)."""
    if isinstance(kept, dict) and isinstance(recounted, dict):
        found = []
        for key in sorted(set(kept) | set(recounted), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in kept:
                found.append(f"{here}: missing != {_short(recounted[key])}")
            elif key not in recounted:
                found.append(f"{here}: {_short(kept[key])} != missing")
            else:
                found.extend(differences(kept[key], recounted[key], here))
        return found
    if isinstance(kept, list) and isinstance(recounted, list) and len(kept) == len(recounted):
        found = []
        for index, (a, b) in enumerate(zip(kept, recounted, strict=True)):
            found.extend(differences(a, b, f"{path}[{index}]"))
        return found
    return (
        [] if kept == recounted else [f"{path or 'value'}: {_short(kept)} != {_short(recounted)}"]
    )


def summary(found: list[str]) -> str:
    """The first few differences on one line."""
    shown = "; ".join(found[:SHOWN])
    return shown if len(found) <= SHOWN else f"{shown}; and {len(found) - SHOWN} more"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
