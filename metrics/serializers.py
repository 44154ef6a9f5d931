"""Response shapes of the metrics API, for the OpenAPI schema (views return plain dicts)."""

from __future__ import annotations

from rest_framework import serializers

from .catalogue import TTL_SECONDS


class CatalogueEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    tier = serializers.ChoiceField(choices=[tier.value for tier in TTL_SECONDS])
    ttlSeconds = serializers.IntegerField()
    live = serializers.BooleanField(help_text="Pushed on change (else asked for a time range).")
    allowed = serializers.BooleanField(help_text="Whether the caller may see this metric.")


class CatalogueSerializer(serializers.Serializer):
    metrics = CatalogueEntrySerializer(many=True)


# --- live metric values --------------------------------------------------------------------------
def _counts(help_text: str = "") -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField(), help_text=help_text)


BY_DEPARTMENT = 'Department code -> value; documents without a department appear as "unassigned" '
BY_DEPARTMENT += "in the all-departments scope only."


class PatientCountSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byDepartment = _counts(BY_DEPARTMENT)


class AlertSerializer(serializers.Serializer):
    id = serializers.CharField()
    patientId = serializers.CharField(allow_null=True)
    departmentId = serializers.CharField(allow_null=True)
    stage = serializers.CharField(allow_null=True)
    startedAt = serializers.DateTimeField(allow_null=True)
    acknowledgedBy = serializers.CharField(required=False)
    acknowledgedAt = serializers.DateTimeField(required=False)


class EmergencyAlertsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Every open emergency in scope.")
    alerts = AlertSerializer(many=True, help_text="Newest first, at most 50.")


class BedCountsSerializer(serializers.Serializer):
    rooms = serializers.IntegerField()
    beds = serializers.IntegerField()
    occupiedBeds = serializers.IntegerField()


class OccupancySerializer(BedCountsSerializer):
    occupancyRate = serializers.FloatField(
        help_text="occupiedBeds / beds, 4 decimals; 0 without beds."
    )


class DepartmentOccupancySerializer(OccupancySerializer):
    byType = serializers.DictField(child=BedCountsSerializer())
    byStatus = _counts("Rooms per status.")


class RoomOccupancySerializer(serializers.Serializer):
    totals = OccupancySerializer()
    byDepartment = serializers.DictField(
        child=DepartmentOccupancySerializer(), help_text=BY_DEPARTMENT
    )


class TodayAppointmentsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = _counts("Every status, zeros included.")
    byDepartment = _counts(BY_DEPARTMENT)


class RevenueSerializer(serializers.Serializer):
    currency = serializers.CharField()
    paidTodayCents = serializers.IntegerField()
    pendingCents = serializers.IntegerField()
    byDepartment = _counts("Department code -> cents paid today. " + BY_DEPARTMENT)


class StaffActivitySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = _counts("Every status, zeros included.")
    byRole = _counts("Every role, zeros included.")
    byDepartment = serializers.DictField(child=_counts(), help_text=BY_DEPARTMENT)


DATA_SERIALIZERS = {
    "patientCount": PatientCountSerializer,
    "emergencyAlerts": EmergencyAlertsSerializer,
    "roomOccupancy": RoomOccupancySerializer,
    "todayAppointments": TodayAppointmentsSerializer,
    "revenue": RevenueSerializer,
    "staffActivity": StaffActivitySerializer,
}


def _value_serializer(
    metric: str, data: type[serializers.Serializer]
) -> type[serializers.Serializer]:
    fields = {
        "data": data(),
        "updatedAt": serializers.DateTimeField(help_text="When the value's computation started."),
        "stale": serializers.BooleanField(
            help_text="True when served from cache while the hospital database is unreachable."
        ),
        "version": serializers.IntegerField(help_text="Increases with every newer value."),
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
