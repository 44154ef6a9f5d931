"""DRF permission classes: thin adapters over accounts.policy."""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request

from runtime.errors import error_response

from .policy import Access, access_for


class NoDashboardAccess(PermissionDenied):
    default_code = "no_dashboard_access"
    default_detail = "This user has no dashboard access level."


class DisplayNotAllowed(PermissionDenied):
    default_code = "display_not_allowed"
    default_detail = "Display devices use the WebSocket only; this endpoint is for users."


class HasDashboardAccess(BasePermission):
    """The caller has a level (and is active). Views then ask `request.access` for the details."""

    def has_permission(self, request, view) -> bool:
        access = access_for(request.user)
        request.access = access
        if not access.has_dashboard_access:
            raise NoDashboardAccess()
        if access.is_display:
            raise DisplayNotAllowed()
        return True


def request_access(request: Request) -> Access:
    """The access HasDashboardAccess loaded for this request."""
    access = getattr(request, "access", None)
    if not isinstance(access, Access):
        raise NoDashboardAccess()
    return access


# Every dashboard endpoint's permissions: IsAuthenticated first, so that an anonymous
# caller gets 401 `not_authenticated`, not 403.
DASHBOARD_USER = [IsAuthenticated, HasDashboardAccess]
# ...and the answers they give, for the OpenAPI schema.
AUTH_ERRORS = {
    401: error_response("`not_authenticated`, `token_not_valid`: no or invalid access token."),
    403: error_response(
        "`no_dashboard_access`: the user has no level; `display_not_allowed`: a display's token."
    ),
}
