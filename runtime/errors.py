"""API errors are JSON with a stable `code`, never an HTML page or a traceback."""

import logging

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("dashboard.api")


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (the OpenAPI schema's `Error`)."""

    code = serializers.CharField(help_text="Stable error code, e.g. time_range_order.")
    message = serializers.CharField()
    detail = serializers.JSONField(required=False)
    retryAfter = serializers.IntegerField(
        required=False, help_text="With 429: seconds to wait (also the Retry-After header)."
    )


def error_response(description: str) -> OpenApiResponse:
    """An error status in the OpenAPI schema: the Error body and what its codes mean."""
    return OpenApiResponse(ErrorSerializer, description=description)


def api_exception_handler(exc, context):
    """DRF's handler, reshaped as {code, message[, detail]}; unexpected errors become a 500 code."""
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {"code": "server_error", "message": "Internal server error."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code, message, detail = _describe(exc, response.data)
    body = {"code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        body["retryAfter"] = int(wait + 0.999)
    response.data = body
    return response


def _describe(exc, data):
    if isinstance(exc, exceptions.ValidationError):
        code = getattr(exc, "default_code", "invalid")
        codes = exc.get_codes()
        # A validator may name its own stable code (e.g. "invalid_range").
        if isinstance(codes, dict):
            flat = [
                c
                for value in codes.values()
                for c in (value if isinstance(value, list) else [value])
            ]
        elif isinstance(codes, list):
            flat = codes
        else:
            flat = [codes]
        if len(flat) == 1 and isinstance(flat[0], str) and flat[0] != "invalid":
            code = flat[0]
        return code, "Invalid request.", data
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        message = data.get("detail") if isinstance(data, dict) and "detail" in data else str(exc)
        detail = None
        if isinstance(data, dict):
            extra = {k: v for k, v in data.items() if k not in ("detail", "code", "messages")}
            detail = extra or None
        return code, str(message), detail
    return "error", str(exc), None


def json_400(request, exception=None):
    # Reached for requests Django refuses before any view: a Host not in ALLOWED_HOSTS,
    # a malformed multipart body and the like.
    return JsonResponse({"code": "bad_request", "message": "Bad request."}, status=400)


def json_403(request, exception=None):
    return JsonResponse({"code": "forbidden", "message": "Forbidden."}, status=403)


def json_404(request, exception=None):
    return JsonResponse({"code": "not_found", "message": "Not found."}, status=404)


def json_500(request):
    return JsonResponse({"code": "server_error", "message": "Internal server error."}, status=500)
