"""DRF permission classes: thin adapters over accounts.policy."""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from .policy import access_for


class NoDashboardAccess(PermissionDenied):
    default_code = "no_dashboard_access"
    default_detail = "This user has no dashboard access level."


class HasDashboardAccess(BasePermission):
    """The caller has a level (and is active). Views then ask `request.access` for the details."""

    def has_permission(self, request, view) -> bool:
        access = access_for(request.user)
        request.access = access
        if not access.has_dashboard_access:
            raise NoDashboardAccess()
        return True
