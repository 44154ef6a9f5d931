"""A scope: the departments a number is computed over (all of them, or a set)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """`departments` None means every department; a frozenset limits to those codes."""

    departments: frozenset[str] | None = None

    @classmethod
    def all(cls) -> Scope:
        return cls(None)

    @classmethod
    def of(cls, codes: Iterable[str]) -> Scope:
        return cls(frozenset(codes))

    @property
    def is_all(self) -> bool:
        return self.departments is None

    def includes(self, department_id: object) -> bool:
        return self.departments is None or department_id in self.departments

    @property
    def key(self) -> str:
        """A short ASCII name for cache keys and channel-layer group names."""
        if self.departments is None:
            return "all"
        joined = ",".join(sorted(self.departments))
        if len(joined) <= 40 and all(c.isalnum() or c in "_-," for c in joined):
            return "d-" + joined.replace(",", ".")
        return "h-" + hashlib.sha256(joined.encode()).hexdigest()[:20]

    def as_list(self) -> list[str] | None:
        return None if self.departments is None else sorted(self.departments)
