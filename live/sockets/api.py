"""REST views of the live side: the instance registry (super admins only; any dashboard user may
ask which address to connect to)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import AUTH_ERRORS, DASHBOARD_USER, request_access
from runtime.errors import error_response

from . import asyncapi
from .registry import STRATEGIES, live_instances, pick_instance


class NotSuperAdmin(PermissionDenied):
    default_code = "forbidden"
    default_detail = "Only super admins may list instances."


class RegistryUnavailable(APIException):
    status_code = 503
    default_code = "registry_unavailable"
    default_detail = "The instance registry (Redis) cannot be reached; try again shortly."


class InstancesView(APIView):
    permission_classes = DASHBOARD_USER

    @extend_schema(
        summary="Live dashboard instances (service registry)",
        description="Instances that sent a heartbeat in the last 15 s, for a load balancer or a "
        "client picking by least connections or round-robin. Super admins only.",
        responses={
            200: inline_serializer(
                "InstanceList",
                {
                    "instances": serializers.ListField(
                        child=inline_serializer(
                            "Instance",
                            {
                                "id": serializers.CharField(),
                                "address": serializers.CharField(),
                                "connections": serializers.IntegerField(),
                                "startedAt": serializers.DateTimeField(),
                                "heartbeatAt": serializers.DateTimeField(),
                            },
                        )
                    )
                },
            ),
            **AUTH_ERRORS,
            503: error_response("`registry_unavailable`: Redis cannot be reached."),
        },
    )
    def get(self, request):
        if not request_access(request).may_view_instances:
            raise NotSuperAdmin()
        try:
            instances = live_instances()
        except RedisError as exc:
            raise RegistryUnavailable() from exc
        return Response({"instances": instances})


class NoInstance(NotFound):
    default_code = "no_instance"
    default_detail = "No instance is announced in the registry (without Redis there is none)."


class PickView(APIView):
    permission_classes = DASHBOARD_USER

    @extend_schema(
        summary="The instance a new connection should use",
        description="Chosen among the live instances of the registry by least connections "
        "(ties by id) or round-robin (one turn shared by every instance). Any dashboard user "
        "gets the address to connect to; super admins also get the instance's id (its host "
        "name and process), which is internal.",
        parameters=[
            OpenApiParameter("strategy", str, enum=list(STRATEGIES), default=STRATEGIES[0]),
        ],
        responses={
            200: inline_serializer(
                "PickedInstance",
                {
                    "address": serializers.CharField(),
                    "id": serializers.CharField(required=False, help_text="super admins only"),
                },
            ),
            400: error_response("`invalid_strategy`."),
            **AUTH_ERRORS,
            404: error_response("`no_instance`: the registry is empty (or not configured)."),
            503: error_response("`registry_unavailable`: Redis cannot be reached."),
        },
    )
    def get(self, request):
        strategy = request.query_params.get("strategy", STRATEGIES[0])
        if strategy not in STRATEGIES:
            raise ValidationError(
                {"strategy": [f"one of {', '.join(STRATEGIES)}"]}, code="invalid_strategy"
            )
        try:
            picked = pick_instance(strategy)
        except RedisError as exc:
            raise RegistryUnavailable() from exc
        if picked is None:
            raise NoInstance()
        if request_access(request).may_view_instances:
            return Response({"id": picked["id"], "address": picked["address"]})
        # Where to connect, and nothing about the fleet behind it.
        return Response({"address": picked["address"]})


class AsyncApiView(APIView):
    """The WebSocket protocol as an AsyncAPI 3.0 document (public, like /api/schema/)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(asyncapi.document())
