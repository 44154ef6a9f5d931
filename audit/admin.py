"""The audit trail in Django admin: read-only, for superusers only, whoever else is staff.

No one adds, changes or deletes an entry here, superusers included (and the
model refuses it anyway, audit/models.py); the list filters by user, event,
outcome, action, door and time.
"""

from __future__ import annotations

from django.contrib import admin

from .models import AuditChain, AuditEntry


class ReadOnlyForSuperusers(admin.ModelAdmin):
    """Superusers may look; nobody may add, change or delete."""

    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_module_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request, obj=None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyForSuperusers):
    list_display = (
        "seq",
        "time",
        "event",
        "action",
        "outcome",
        "username",
        "departments",
        "address",
        "channel",
    )
    list_filter = ("event", "outcome", "action", "channel", ("time", admin.DateFieldListFilter))
    search_fields = ("=username", "address")
    date_hierarchy = "time"
    ordering = ("-seq",)
    list_per_page = 100
    show_full_result_count = False


@admin.register(AuditChain)
class AuditChainAdmin(ReadOnlyForSuperusers):
    list_display = ("last_seq", "last_hash", "anchor_seq", "anchor_hash", "purged_before")
