"""What a metric module declares: `METRIC = MetricDefinition(...)` beside its functions.

A live metric is one module (metrics/compute/ holds the bundled ones) that
declares its definition and provides:

- `compute(db, now) -> base`: the full aggregation, over every department;
- `project(base, scope) -> data`: the value a scope sees (pure);
- its incremental form, one of: `MATCH` (or `scan_match(window)` when
  `WINDOWED`), `FIELDS`, `VALUES`, `contribution(doc, window)` and
  `from_groups(rows)` (and `rows(groups, window, now)` when windowed), folded by
  metrics/incremental/groups.py; or `new_state(window)` returning a state of
  its own (see metrics/incremental/state.py for what a state answers);
- optional hooks: `comparable(base)` (what the verification compares, e.g.
  without fields merged in from elsewhere), `urgent(event)` (a change that
  skips the batch window), `ACKNOWLEDGED = True` (rebuilt when an alert is
  acknowledged).

Everything else is derived from the modules listed in `DASHBOARD_METRICS` (and
`DASHBOARD_EXTRA_METRICS`): the catalogue, the compute registry, the
incremental state, the REST serializers, the OpenAPI and AsyncAPI schemas and
the page's tiles (docs/metrics.md, "Adding a metric").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import Any


class Tier(StrEnum):
    CRITICAL = "critical"
    STANDARD = "standard"
    HISTORICAL = "historical"


TTL_SECONDS = {Tier.CRITICAL: 5, Tier.STANDARD: 30, Tier.HISTORICAL: 300}


@dataclass(frozen=True)
class Tile:
    """How the page shows a live metric: a title, what the value covers, and a renderer.

    `kind` names one of the page's tile renderers (dashboard_page/static/dashboard/js/
    tiles.js); `options` is JSON handed to it. The generic "summary" renderer takes
    `headline` ({field, format, caption}), `facts` ([{field, format, label}]) and `bars`
    ([{field, format, label, order}]), so a new metric needs no JavaScript.
    """

    title: str
    period: str  # "now", "today", "open now": shown beside the title
    kind: str = "summary"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    tier: Tier
    collections: tuple[str, ...]
    # The shape of the metric's `data` (a DRF serializer class): the REST serializer, the
    # OpenAPI component and the AsyncAPI message are derived from it. Live metrics only.
    data: Any = None
    tile: Tile | None = None
    # Seconds between rebuilds for a value that moves with time alone (a waiting time); the
    # listener rebuilds it that often and broadcasts it when it changed. None: changes only.
    tick_seconds: float | None = None
    carries_revenue: bool = False
    module: ModuleType | None = None  # set by the catalogue

    @property
    def ttl(self) -> int:
        return TTL_SECONDS[self.tier]

    @property
    def critical(self) -> bool:
        return self.tier is Tier.CRITICAL

    @property
    def live(self) -> bool:
        """Live metrics are pushed on change; historical ones are asked for a time range."""
        return self.tier is not Tier.HISTORICAL

    @property
    def schema_name(self) -> str:
        """The OpenAPI component of the metric's data (drf-spectacular's naming)."""
        return self.data.__name__.removesuffix("Serializer")

    @property
    def implementation(self) -> ModuleType:
        """The metric's module (set once the catalogue has loaded it)."""
        if self.module is None:
            raise LookupError(f"{self.name} is not loaded from a module")
        return self.module

    def hook(self, name: str, default: Any = None) -> Any:
        """An optional function or flag of the metric's module."""
        return getattr(self.module, name, default)
