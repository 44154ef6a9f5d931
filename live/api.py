"""REST views of the live side: the instance registry (super admins only)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import AUTH_ERRORS, DASHBOARD_USER
from dashboard_project.errors import error_response

from . import asyncapi
from .registry import live_instances


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
        if not request.access.may_view_instances:
            raise NotSuperAdmin()
        try:
            instances = live_instances()
        except RedisError as exc:
            raise RegistryUnavailable() from exc
        return Response({"instances": instances})


class AsyncApiView(APIView):
    """The WebSocket protocol as an AsyncAPI 3.0 document (public, like /api/schema/)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(asyncapi.document())
