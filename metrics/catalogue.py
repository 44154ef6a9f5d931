"""The metric catalogue: each metric's name, tier, cache lifetime and the collections it reads.

The names, tiers and lifetimes are those of docs/metrics.md ("The metrics"). The functions
that compute each metric are registered in metrics/compute/__init__.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    CRITICAL = "critical"
    STANDARD = "standard"
    HISTORICAL = "historical"


TTL_SECONDS = {Tier.CRITICAL: 5, Tier.STANDARD: 30, Tier.HISTORICAL: 300}


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    tier: Tier
    collections: tuple[str, ...]
    carries_revenue: bool = False

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


_DEFINITIONS = (
    MetricDefinition("patientCount", Tier.CRITICAL, ("patients",)),
    MetricDefinition("emergencyAlerts", Tier.CRITICAL, ("workflows",)),
    MetricDefinition("roomOccupancy", Tier.CRITICAL, ("rooms",)),
    MetricDefinition("todayAppointments", Tier.STANDARD, ("appointments",)),
    MetricDefinition("revenue", Tier.STANDARD, ("bills",), carries_revenue=True),
    MetricDefinition("staffActivity", Tier.STANDARD, ("staff",)),
    MetricDefinition(
        "hourlyStats",
        Tier.HISTORICAL,
        ("patients", "appointments", "bills", "workflows"),
        carries_revenue=True,
    ),
    MetricDefinition(
        "departmentMetrics",
        Tier.HISTORICAL,
        ("departments", "patients", "appointments", "bills", "workflows"),
        carries_revenue=True,
    ),
)

METRICS: dict[str, MetricDefinition] = {definition.name: definition for definition in _DEFINITIONS}
# Critical first: the order the listener recomputes in and snapshots list in.
LIVE_METRICS: tuple[str, ...] = tuple(d.name for d in _DEFINITIONS if d.live)
HISTORICAL_METRICS: tuple[str, ...] = tuple(d.name for d in _DEFINITIONS if not d.live)
# Fields that carry money inside rows of the historical metrics.
REVENUE_FIELDS: frozenset[str] = frozenset({"revenueCents"})


def metrics_reading(collection: str) -> list[str]:
    """Live metrics whose value depends on `collection`, critical first."""
    return [name for name in LIVE_METRICS if collection in METRICS[name].collections]
