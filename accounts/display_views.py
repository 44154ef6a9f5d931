"""Display endpoints: pairing a screen and exchanging its credential (accounts/displays.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from runtime.errors import error_response
from runtime.throttling import CacheThrottle

from . import displays
from .throttling import client_address
from .views import BAD_BODY, _TokenView


class PairingIPThrottle(CacheThrottle):
    """Pairing codes asked for from one client address (scope `display_pairing`)."""

    scope = "display_pairing"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class PairingSerializer(serializers.Serializer):
    pairing = serializers.CharField(help_text="Poll `pairing/status/` with it; keep it private.")
    code = serializers.CharField(help_text="Show it: an admin types it in Django admin.")
    expiresAt = serializers.DateTimeField()


class PairingStatusRequest(serializers.Serializer):
    pairing = serializers.CharField(max_length=displays.MAX_PAIRING_ID_LENGTH)


class PairingStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["waiting", "paired"])
    device = serializers.IntegerField(required=False, help_text="With `paired`: the display's id.")
    secret = serializers.CharField(
        required=False, help_text="With `paired`, once: the display's credential."
    )
    name = serializers.CharField(required=False, help_text="With `paired`: the display's name.")


class DisplayTokenRequest(serializers.Serializer):
    device = serializers.IntegerField(min_value=1)
    secret = serializers.CharField(max_length=displays.MAX_SECRET_LENGTH, trim_whitespace=False)


class DisplayTokenSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="For `POST /api/auth/ticket/` and `authenticate`.")
    expiresAt = serializers.DateTimeField()
    name = serializers.CharField()


class PairingNotFound(exceptions.NotFound):
    default_code = "pairing_not_found"
    default_detail = "No such pairing: it expired or was already used. Start again."


class CredentialRefused(exceptions.AuthenticationFailed):
    default_code = displays.INVALID_CREDENTIAL


class PairingView(_TokenView):
    """A display asks to be paired: `{}` → `{pairing, code, expiresAt}`."""

    serializer_class = PairingSerializer
    throttle_classes = (PairingIPThrottle,)

    @extend_schema(
        request=None,
        responses={
            201: PairingSerializer,
            429: error_response("`throttled`: too many pairings from this address."),
        },
    )
    def post(self, request) -> Response:
        pairing = displays.start_pairing()
        body = {
            "pairing": pairing.pairing_id,
            "code": pairing.code,
            "expiresAt": pairing.expires_at,
        }
        return Response(PairingSerializer(body).data, status=status.HTTP_201_CREATED)


class PairingStatusView(_TokenView):
    """`{pairing}` → `{status: "waiting"}`, or once `{status: "paired", device, secret, name}`."""

    serializer_class = PairingStatusRequest

    @extend_schema(
        responses={
            200: PairingStatusSerializer,
            400: BAD_BODY,
            404: error_response("`pairing_not_found`: expired, unknown or already collected."),
        }
    )
    def post(self, request) -> Response:
        state = displays.pairing_status(self.validated(request)["pairing"])
        if state is None:
            raise PairingNotFound()
        return Response(PairingStatusSerializer(state).data)


class DisplayTokenView(_TokenView):
    """A display's credential → a short-lived access token (the credential's idle time restarts)."""

    serializer_class = DisplayTokenRequest

    @extend_schema(
        responses={
            200: DisplayTokenSerializer,
            400: BAD_BODY,
            401: error_response(
                "`invalid_credential` (unknown, replaced by a new pairing, or revoked) or "
                "`credential_expired` (unused longer than DASHBOARD_DISPLAY_IDLE_DAYS)."
            ),
        }
    )
    def post(self, request) -> Response:
        data = self.validated(request)
        try:
            access, expires_at, display = displays.exchange(data["device"], data["secret"])
        except displays.DisplayRefused as exc:
            raise CredentialRefused(str(exc), exc.code) from None
        body = {"access": access, "expiresAt": expires_at, "name": display.name}
        return Response(DisplayTokenSerializer(body).data)
