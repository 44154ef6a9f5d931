"""Token endpoints: thin adapters over accounts.tokens."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from . import tokens
from .throttling import LoginIPThrottle, LoginUsernameThrottle


class _TokenView(GenericAPIView):
    # The caller proves itself with the body, never with an Authorization header
    # (an expired access token sent along must not turn a login into a 401).
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_authenticate_header(self, request) -> str:
        # Without it DRF would turn every 401 of these views into a 403.
        return 'Bearer realm="api"'

    def validated(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class TokenObtainView(_TokenView):
    """Log in: `{username, password}` → `{access, refresh}`."""

    serializer_class = tokens.DashboardTokenObtainSerializer
    throttle_classes = (LoginIPThrottle, LoginUsernameThrottle)

    def post(self, request) -> Response:
        return Response(self.validated(request))


class TokenRefreshView(_TokenView):
    """Rotate: `{refresh}` → `{access, refresh}`; the refresh token sent is blacklisted."""

    serializer_class = tokens.DashboardTokenRefreshSerializer

    def post(self, request) -> Response:
        return Response(self.validated(request))


class LogoutView(_TokenView):
    """Log out: `{refresh}` → 204; the refresh token is blacklisted."""

    serializer_class = tokens.LogoutSerializer

    @extend_schema(responses={204: OpenApiResponse(description="The refresh token is revoked.")})
    def post(self, request) -> Response:
        tokens.revoke_refresh_token(self.validated(request)["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)
