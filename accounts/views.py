"""Token and ticket endpoints: thin adapters over accounts.tokens and accounts.tickets."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from runtime.errors import error_response

from . import audit_trail, tickets, tokens
from .authentication import DashboardStatelessAuthentication
from .permissions import AUTH_ERRORS
from .throttling import LoginIPThrottle, LoginUsernameThrottle

BAD_BODY = error_response(
    "`parse_error` (not JSON), or a missing or wrong field: `required`, `blank`, `null`, "
    "`max_length`, `invalid`."
)
BAD_REFRESH = error_response(
    "`invalid_token` (malformed, forged, of the wrong type, already used or revoked), "
    "`token_expired` or `user_inactive`."
)
NO_LEVEL = error_response("`no_dashboard_access`: the user has no dashboard level.")


class _TokenView(GenericAPIView):
    # The caller proves itself with the body, never with an Authorization header
    # (an expired access token sent along must not turn a login into a 401).
    authentication_classes = ()
    permission_classes = (AllowAny,)
    audit_event = "signin"

    def get_authenticate_header(self, request) -> str:
        # Without it DRF would turn every 401 of these views into a 403.
        return 'Bearer realm="api"'

    def validated(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.serializer = serializer
        return serializer.validated_data

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        audit_trail.token_refused(self.audit_event, self.request, exc)
        return response


class TokenObtainView(_TokenView):
    """Log in: `{username, password}` → `{access, refresh}`."""

    serializer_class = tokens.DashboardTokenObtainSerializer
    throttle_classes = (LoginIPThrottle, LoginUsernameThrottle)

    @extend_schema(
        responses={
            200: tokens.DashboardTokenObtainSerializer,
            400: BAD_BODY,
            401: error_response(
                "`invalid_credentials`: unknown user, wrong password or inactive user."
            ),
            403: NO_LEVEL,
            429: error_response(
                "`throttled`: too many attempts from this address or at this username; "
                "`retryAfter` seconds."
            ),
        }
    )
    def post(self, request) -> Response:
        pair = self.validated(request)
        audit_trail.token_issued(
            "signin", request, access=getattr(self.serializer, "signed_in", None)
        )
        return Response(pair)


class TokenRefreshView(_TokenView):
    """Rotate: `{refresh}` → `{access, refresh}`; the refresh token sent is blacklisted."""

    serializer_class = tokens.DashboardTokenRefreshSerializer
    audit_event = "token_refresh"

    @extend_schema(
        responses={
            200: tokens.DashboardTokenRefreshSerializer,
            400: BAD_BODY,
            401: BAD_REFRESH,
            403: NO_LEVEL,
        }
    )
    def post(self, request) -> Response:
        pair = self.validated(request)
        audit_trail.token_issued(
            "token_refresh", request, token=getattr(self.serializer, "issued", None)
        )
        return Response(pair)


class LogoutView(_TokenView):
    """Log out: `{refresh}` → 204; the refresh token is blacklisted."""

    serializer_class = tokens.LogoutSerializer
    audit_event = "signout"

    @extend_schema(
        responses={
            204: OpenApiResponse(description="The refresh token is revoked."),
            400: BAD_BODY,
            401: BAD_REFRESH,
        }
    )
    def post(self, request) -> Response:
        revoked = tokens.revoke_refresh_token(self.validated(request)["refresh"])
        audit_trail.token_issued("signout", request, token=revoked)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Open `/ws/dashboard/?ticket=<ticket>` with it, once.")
    expiresAt = serializers.DateTimeField(help_text="Not accepted after this (30 s at most).")


class TicketView(GenericAPIView):
    """A one-time ticket for the caller's next dashboard socket (accounts/tickets.py)."""

    # The token's signature and expiry only: the ticket is checked against the database when it
    # is redeemed, so issuing one costs no query (a thousand displays reconnect at once).
    authentication_classes = (DashboardStatelessAuthentication,)
    permission_classes = (IsAuthenticated,)
    serializer_class = TicketSerializer

    # The same bearer access token as every other endpoint ("jwtAuth"), however it is checked.
    @extend_schema(
        request=None,
        responses={200: TicketSerializer, **AUTH_ERRORS},
        # Security requirement objects, as the schema writes them (typed as names upstream).
        auth=[{"jwtAuth": []}],  # type: ignore[list-item]
    )
    def post(self, request) -> Response:
        # request.auth is the access token simplejwt validated; the ticket ends with it.
        token_expires_at = dt.datetime.fromtimestamp(request.auth["exp"], tz=dt.UTC)
        ticket, expires_at = tickets.issue_ticket(request.user.pk, token_expires_at)
        return Response(TicketSerializer({"ticket": ticket, "expiresAt": expires_at}).data)
