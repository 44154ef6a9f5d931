"""The metric catalogue, derived from the metric modules listed in settings.DASHBOARD_METRICS.

Each module declares `METRIC` (or `METRICS`, several computed together, as the historical
ones are) with its name, tier, collections, data shape, tile and tick
(metrics/definition.py); the names, tiers and lifetimes are docs/metrics.md's ("The
metrics"). Everything keyed by a metric's name elsewhere (the compute registry, the
incremental state, the serializers, the schemas, the page's tiles) reads it from here.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .definition import TTL_SECONDS, MetricDefinition, Tier, Tile

__all__ = [
    "HISTORICAL_METRICS",
    "LIVE_METRICS",
    "METRICS",
    "REVENUE_FIELDS",
    "TTL_SECONDS",
    "MetricDefinition",
    "Tier",
    "Tile",
    "metrics_reading",
    "watched_collections",
]

_TIER_ORDER = {Tier.CRITICAL: 0, Tier.STANDARD: 1, Tier.HISTORICAL: 2}


def load(modules: Iterable[str]) -> tuple[MetricDefinition, ...]:
    """The definitions the modules declare, critical first (else in the order listed)."""
    found: list[MetricDefinition] = []
    for path in modules:
        module = importlib.import_module(path)
        declared = getattr(module, "METRICS", None) or (getattr(module, "METRIC", None),)
        for definition in declared:
            if not isinstance(definition, MetricDefinition):
                raise ImproperlyConfigured(f"{path} declares no METRIC (metrics/definition.py)")
            if definition.live and (definition.data is None or not hasattr(module, "project")):
                raise ImproperlyConfigured(f"{path}: a live metric needs `data` and `project`")
            found.append(dataclasses.replace(definition, module=module))
    names = [definition.name for definition in found]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImproperlyConfigured(f"metrics declared twice: {', '.join(repeated)}")
    return tuple(sorted(found, key=lambda definition: _TIER_ORDER[definition.tier]))


_DEFINITIONS = load(settings.DASHBOARD_METRICS)

METRICS: dict[str, MetricDefinition] = {definition.name: definition for definition in _DEFINITIONS}
# Critical first: the order the listener recomputes in and snapshots list in.
LIVE_METRICS: tuple[str, ...] = tuple(d.name for d in _DEFINITIONS if d.live)
HISTORICAL_METRICS: tuple[str, ...] = tuple(d.name for d in _DEFINITIONS if not d.live)
# Fields that carry money inside rows of the historical metrics.
REVENUE_FIELDS: frozenset[str] = frozenset({"revenueCents"})


def metrics_reading(collection: str) -> list[str]:
    """Live metrics whose value depends on `collection`, critical first."""
    return [name for name in LIVE_METRICS if collection in METRICS[name].collections]


def watched_collections() -> list[str]:
    """The collections the live metrics read: what the listener follows by default."""
    seen: dict[str, None] = {}
    for name in LIVE_METRICS:
        seen.update(dict.fromkeys(METRICS[name].collections))
    return list(seen)
