"""Response shapes of the metrics API, for the OpenAPI schema (views return plain dicts)."""

from __future__ import annotations

from rest_framework import serializers

from . import versions
from .catalogue import LIVE_METRICS, METRICS, TTL_SECONDS


class CatalogueEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    tier = serializers.ChoiceField(choices=[tier.value for tier in TTL_SECONDS])
    ttlSeconds = serializers.IntegerField()
    live = serializers.BooleanField(help_text="Pushed on change (else asked for a time range).")
    allowed = serializers.BooleanField(help_text="Whether the caller may see this metric.")


class CatalogueSerializer(serializers.Serializer):
    metrics = CatalogueEntrySerializer(many=True)


# --- live metric values --------------------------------------------------------------------------
# Each live metric's `data` shape is declared by its module (metrics/definition.py).
DATA_SERIALIZERS = {name: METRICS[name].data for name in LIVE_METRICS}


def _value_serializer(
    metric: str, data: type[serializers.Serializer]
) -> type[serializers.Serializer]:
    fields = {
        "data": data(),
        "updatedAt": serializers.DateTimeField(help_text="When the value's computation started."),
        "stale": serializers.BooleanField(
            help_text="True when served from cache while the hospital database is unreachable."
        ),
        "version": serializers.IntegerField(
            min_value=0, max_value=versions.LIMIT - 1, help_text=versions.DESCRIPTION
        ),
    }
    return type(
        f"{metric[0].upper()}{metric[1:]}ValueSerializer", (serializers.Serializer,), fields
    )


SnapshotMetricsSerializer = type(
    "SnapshotMetricsSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "Only the metrics the caller may see are present (viewers get no revenue).",
        **{
            name: _value_serializer(name, data)(required=False)
            for name, data in DATA_SERIALIZERS.items()
        },
    },
)


class SnapshotSerializer(serializers.Serializer):
    metrics = SnapshotMetricsSerializer()


# --- historical ------------------------------------------------------------------------------------
class TimeRangeSerializer(serializers.Serializer):
    start = serializers.DateTimeField(
        help_text="Widened outward to a whole hour (hospital time zone)."
    )
    end = serializers.DateTimeField()


class ActivityCountsSerializer(serializers.Serializer):
    """The counts a historical row carries, per hour or per department."""

    newPatients = serializers.IntegerField()
    appointments = serializers.IntegerField()
    completedAppointments = serializers.IntegerField()
    revenueCents = serializers.IntegerField(required=False, help_text="Absent for viewers.")
    emergencies = serializers.IntegerField()


class HourlyStatSerializer(ActivityCountsSerializer):
    hour = serializers.DateTimeField(
        help_text="Start of the local hour, with the hospital's offset."
    )


class DepartmentMetricSerializer(ActivityCountsSerializer):
    departmentId = serializers.CharField()
    name = serializers.CharField()


class HistoricalSerializer(serializers.Serializer):
    timeRange = TimeRangeSerializer()
    hourlyStats = HourlyStatSerializer(many=True)
    departmentMetrics = DepartmentMetricSerializer(many=True)
