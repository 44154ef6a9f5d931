"""The metrics REST API: thin adapters over metrics.selectors (JWT, HasDashboardAccess)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit_trail import access_refused
from accounts.permissions import AUTH_ERRORS, DASHBOARD_USER, request_access
from audit.events import actor_of, count_read, from_request
from metrics import selectors
from metrics.catalogue import METRICS
from metrics.serializers import CatalogueSerializer, HistoricalSerializer, SnapshotSerializer
from metrics.timerange import TimeRangeError, parse_time_range
from runtime.errors import error_response

from .typescript import metric_declarations


class MetricsUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "metrics_unavailable"
    default_detail = "The hospital database is unreachable and no value is known yet."


class BadTimeRange(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_time_range"


UNAVAILABLE = {503: error_response("`metrics_unavailable`: MongoDB is unreachable, nothing known.")}


class AuditedView(APIView):
    """A metrics view whose refusals (no or a bad token, no level) go on the audit trail."""

    audit_kind = ""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        access_refused(self.request, exc, self.audit_kind)
        return response


class CatalogueView(AuditedView):
    permission_classes = DASHBOARD_USER
    audit_kind = "catalogue"

    @extend_schema(
        operation_id="metrics_catalogue",
        summary="Every metric: name, tier, cache lifetime, and whether the caller may see it",
        responses={200: CatalogueSerializer, **AUTH_ERRORS},
    )
    def get(self, request: Request) -> Response:
        access = request_access(request)
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


class SnapshotView(AuditedView):
    permission_classes = DASHBOARD_USER
    audit_kind = "snapshot"

    @extend_schema(
        operation_id="metrics_snapshot",
        summary="The caller's critical and standard metrics, over the caller's departments",
        responses={200: SnapshotSerializer, **AUTH_ERRORS, **UNAVAILABLE},
    )
    def get(self, request: Request) -> Response:
        try:
            snapshot = selectors.get_snapshot(request_access(request))
        except selectors.MetricUnavailable as exc:
            raise MetricsUnavailable(str(exc)) from None
        audit_reads(request, "snapshot", list(snapshot["metrics"]))
        return Response(snapshot)


class HistoricalView(AuditedView):
    permission_classes = DASHBOARD_USER
    audit_kind = "historical"

    @extend_schema(
        operation_id="metrics_historical",
        summary="hourlyStats and departmentMetrics for a range (at most 31 days)",
        parameters=[
            OpenApiParameter(
                "start",
                OpenApiTypes.DATETIME,
                required=True,
                description="ISO 8601 with an offset, e.g. 2026-03-08T00:00:00-05:00 "
                "(`+` as `%2B` in a query string).",
            ),
            OpenApiParameter(
                "end",
                OpenApiTypes.DATETIME,
                required=True,
                description="ISO 8601 with an offset; after start, at most 31 days later.",
            ),
        ],
        responses={
            200: HistoricalSerializer,
            400: error_response(
                "`invalid_time_range`, `time_range_order`, `time_range_too_long` or "
                "`time_range_in_future`."
            ),
            **AUTH_ERRORS,
            429: error_response(
                "`throttled`: too many ranges computed for this user lately (cached ranges "
                "never count); `retryAfter` seconds."
            ),
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
            historical = selectors.get_historical(request_access(request), start, end)
            audit_reads(request, "historical", ["historical"])
            return Response(historical)
        except selectors.MetricUnavailable as exc:
            raise MetricsUnavailable(str(exc)) from None
        except selectors.HistoricalThrottled as exc:
            raise Throttled(exc.retry_after, str(exc)) from None


def audit_reads(request: Request, kind: str, metrics: list[str]) -> None:
    """Tally the reads on the audit trail: one entry per access token (the REST session) and
    metric, whatever the number of requests (audit/reads.py)."""
    claims = getattr(request.auth, "payload", None) or {}
    session = f"token:{claims.get('jti', '')}"
    actor, where = actor_of(request_access(request)), from_request(request)
    for metric in metrics:
        count_read(session, kind, metric, actor, where)


def typescript_declarations(request: HttpRequest) -> HttpResponse:
    """`GET /api/metrics/types.d.ts`: TypeScript types of every live metric's data and of the
    updates a socket receives, derived from the metric modules (public, like /api/schema/)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(metric_declarations(), content_type="application/typescript; charset=utf-8")
