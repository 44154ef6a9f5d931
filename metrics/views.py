"""The metrics REST API: thin adapters over metrics.service (JWT, HasDashboardAccess)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasDashboardAccess

from . import service
from .catalogue import METRICS
from .serializers import (
    CatalogueSerializer,
    ErrorSerializer,
    HistoricalSerializer,
    SnapshotSerializer,
)
from .timerange import TimeRangeError, parse_time_range


class MetricsUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "metrics_unavailable"
    default_detail = "The hospital database is unreachable and no value is known yet."


class BadTimeRange(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_time_range"


# IsAuthenticated first: an anonymous caller gets 401 not_authenticated, not 403.
PERMISSIONS = [IsAuthenticated, HasDashboardAccess]
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No or invalid access token."),
    403: OpenApiResponse(
        ErrorSerializer, description="`no_dashboard_access`: the user has no level."
    ),
}
UNAVAILABLE = {503: OpenApiResponse(ErrorSerializer, description="`metrics_unavailable`.")}


class CatalogueView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        operation_id="metrics_catalogue",
        summary="Every metric: name, tier, cache lifetime, and whether the caller may see it",
        responses={200: CatalogueSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        access = request.access
        return Response(
            {
                "metrics": [
                    {
                        "name": d.name,
                        "tier": d.tier.value,
                        "ttlSeconds": d.ttl,
                        "live": d.live,
                        "allowed": access.can_see(d.name),
                    }
                    for d in METRICS.values()
                ]
            }
        )


class SnapshotView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        operation_id="metrics_snapshot",
        summary="The caller's critical and standard metrics, over the caller's departments",
        responses={200: SnapshotSerializer, **ERRORS, **UNAVAILABLE},
    )
    def get(self, request: Request) -> Response:
        try:
            return Response(service.get_snapshot(request.access))
        except service.MetricUnavailable as exc:
            raise MetricsUnavailable(str(exc)) from None


class HistoricalView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        operation_id="metrics_historical",
        summary="hourlyStats and departmentMetrics for a range (at most 31 days)",
        parameters=[
            OpenApiParameter(
                "start",
                str,
                required=True,
                description="ISO 8601 with an offset, e.g. 2026-03-08T00:00:00-05:00.",
            ),
            OpenApiParameter("end", str, required=True, description="ISO 8601 with an offset."),
        ],
        responses={
            200: HistoricalSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`invalid_time_range`, `time_range_order`, `time_range_too_long` or "
                    "`time_range_in_future`."
                ),
            ),
            **ERRORS,
            **UNAVAILABLE,
        },
    )
    def get(self, request: Request) -> Response:
        try:
            start, end = parse_time_range(
                request.query_params.get("start"), request.query_params.get("end")
            )
        except TimeRangeError as exc:
            raise BadTimeRange(exc.message, exc.code) from None
        try:
            return Response(service.get_historical(request.access, start, end))
        except service.MetricUnavailable as exc:
            raise MetricsUnavailable(str(exc)) from None
