"""A computed metric value and every form it travels in: the wire, the channel layer, the cache.

One value type and one UTC formatter for everything the dashboard puts on the
wire (`iso_utc`), so that a value reads the same whichever way it came: from
REST, from a socket, from another server process or from the cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# The channel-layer message that carries the base values of one flush to every server process.
CHANNEL_MESSAGE_TYPE = "metric.updates"


def iso_utc(moment: dt.datetime) -> str:
    """Fixed-width UTC ISO 8601 (milliseconds, as BSON dates keep), so strings sort as instants do.

    A naive datetime is taken as UTC (stores hand dates back naive).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


def parse_iso(text: str) -> dt.datetime:
    """An aware datetime from `iso_utc` (or any ISO 8601 with an offset)."""
    return dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class MetricValue:
    """A computed value. `version` is the database position of the state it reflects
    (metrics/versions.py); `updated_at` is when it was computed."""

    metric: str
    data: Any
    version: int
    updated_at: dt.datetime
    stale: bool = False

    # --- the wire (dashboard_update, snapshot entries, REST) ------------------------------------
    def to_update(self) -> dict:
        """The fields of a `dashboard_update` and of a snapshot entry."""
        return {
            "data": self.data,
            "updatedAt": iso_utc(self.updated_at),
            "stale": self.stale,
            "version": self.version,
        }

    # --- the channel layer (listener -> every server process) ------------------------------------
    def to_item(self) -> dict:
        return {"metric": self.metric, **self.to_update()}

    @classmethod
    def from_item(cls, item: dict) -> MetricValue:
        return cls(
            metric=item["metric"],
            data=item["data"],
            version=item["version"],
            updated_at=parse_iso(item["updatedAt"]),
            stale=item.get("stale", False),
        )

    # --- the Django cache (L2) -------------------------------------------------------------------
    def to_payload(self, expires_at: float) -> dict:
        """What the cache keeps; staleness is not kept (it is decided when the value is read)."""
        return {
            "metric": self.metric,
            "data": self.data,
            "version": self.version,
            "updated_at": self.updated_at,
            "expires_at": expires_at,
        }

    @classmethod
    def from_payload(cls, payload: dict) -> MetricValue:
        return cls(payload["metric"], payload["data"], payload["version"], payload["updated_at"])


def channel_message(values: list[MetricValue]) -> dict:
    """One channel-layer message for the values of one flush (one PUBLISH on Redis)."""
    return {"type": CHANNEL_MESSAGE_TYPE, "values": [value.to_item() for value in values]}


def values_from_message(message: dict) -> list[MetricValue]:
    return [MetricValue.from_item(item) for item in message["values"]]
