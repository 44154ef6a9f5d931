"""Comparing an incrementally kept base value with the full aggregation's.

Acknowledgements are not part of the incremental state (they live in the
dashboard's own database and are merged into both values by the same
function), so a comparison leaves them out of both sides.
"""

from __future__ import annotations

from typing import Any

ACKNOWLEDGEMENT_FIELDS = ("acknowledgedBy", "acknowledgedAt")
SHOWN = 5  # differences listed in a log line


def without_acknowledgements(metric: str, base: dict) -> dict:
    """emergencyAlerts without acknowledgement fields (other metrics as they are)."""
    if metric != "emergencyAlerts":
        return base

    def plain(part: dict | None) -> dict | None:
        if part is None:
            return None
        alerts = [
            {k: v for k, v in alert.items() if k not in ACKNOWLEDGEMENT_FIELDS}
            for alert in part["alerts"]
        ]
        return {**part, "alerts": alerts}

    return {
        **base,
        "departments": {code: plain(part) for code, part in base["departments"].items()},
        "unassigned": plain(base.get("unassigned")),
    }


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
