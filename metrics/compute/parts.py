"""The shape every live base value shares: one part per department, plus the unassigned part.

A base value is `{"departments": {code: part}, "unassigned": part | None, ...}`,
JSON-ready. Documents without a departmentId belong to no department: they
count in the all-departments scope only, reported under "unassigned".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from metrics.scope import Scope

UNASSIGNED = "unassigned"


def base_value(parts: dict[str | None, Any], **extra: Any) -> dict:
    departments = {code: part for code, part in parts.items() if code is not None}
    return {"departments": departments, "unassigned": parts.get(None), **extra}


def parts_in(base: dict, scope: Scope) -> list[tuple[str, Any]]:
    """The (key, part) pairs a scope covers, in a stable order."""
    selected = [
        (code, base["departments"][code])
        for code in sorted(base["departments"])
        if scope.includes(code)
    ]
    if scope.is_all and base.get("unassigned") is not None:
        selected.append((UNASSIGNED, base["unassigned"]))
    return selected


def count_into(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def with_every(counts: dict[str, int], values: Iterable[str]) -> dict[str, int]:
    """Every contract value (zeros included), then any other value seen in the data."""
    filled = {value: counts.get(value, 0) for value in values}
    filled.update({key: n for key, n in counts.items() if key not in filled})
    return filled


def summed(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, n in part.items():
            count_into(total, key, n)
    return total
