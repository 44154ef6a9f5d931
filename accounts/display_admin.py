"""Django admin for display devices: register, pair by code, revoke. Super admins only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from . import displays
from .changes import announce_access_change
from .models import DisplayDevice


class PairForm(forms.Form):
    code = forms.CharField(
        label="Pairing code",
        max_length=16,
        help_text="The code the screen shows at /display/ (for example ABC-234).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


class SuperAdminOnly:
    """Displays are registered, paired and revoked by super admins (Django superusers)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_module_permission
    has_change_permission = has_view_permission
    has_delete_permission = has_view_permission


@admin.register(DisplayDevice)
class DisplayDeviceAdmin(SuperAdminOnly, admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "shown_departments",
        "read_only",
        "active",
        "paired",
        "last_seen_at",
        "pair_link",
    )
    list_filter = ("active", "read_only", "departments")
    search_fields = ("name",)
    filter_horizontal = ("departments",)
    fields = ("name", "departments", "read_only", "active", "paired", "paired_at", "last_seen_at")
    readonly_fields = ("paired", "paired_at", "last_seen_at")
    actions = ("revoke_displays",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("departments")

    @admin.display(description="kind")
    def kind(self, display: DisplayDevice) -> str:
        return "Display"

    @admin.display(description="departments")
    def shown_departments(self, display: DisplayDevice) -> str:
        return ", ".join(sorted(d.code for d in display.departments.all())) or "all"

    @admin.display(description="paired", boolean=True)
    def paired(self, display: DisplayDevice) -> bool:
        return display.paired

    @admin.display(description="pairing")
    def pair_link(self, display: DisplayDevice) -> str:
        url = reverse("admin:accounts_displaydevice_pair", args=[display.pk])
        return format_html('<a href="{}">Pair with a code</a>', url)

    def save_model(self, request, obj: DisplayDevice, form, change) -> None:
        if not change:
            obj.user = displays.create_display_user(obj.name)
        revoked = change and "active" in form.changed_data and not obj.active
        super().save_model(request, obj, form, change)
        if revoked:
            displays.revoke([obj])

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if change:
            # New departments or read-only flag: the display's sockets move to them at once.
            announce_access_change([form.instance.user_id])

    def delete_model(self, request, obj: DisplayDevice) -> None:
        self.delete_queryset(request, DisplayDevice.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        found = list(queryset.select_related("user"))
        displays.revoke(found)
        with transaction.atomic():
            for display in found:
                display.user.delete()  # the display goes with its internal user

    @admin.action(description="Revoke the selected displays (their screens stop at once)")
    def revoke_displays(self, request, queryset) -> None:
        found = list(queryset)
        displays.revoke(found)
        self.message_user(request, f"Revoked {len(found)} display(s).", messages.SUCCESS)

    def get_urls(self):
        pair = self.admin_site.admin_view(self.pair_view)
        return [
            path("<int:object_id>/pair/", pair, name="accounts_displaydevice_pair"),
            *super().get_urls(),
        ]

    def pair_view(self, request, object_id: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        display = get_object_or_404(DisplayDevice, pk=object_id)
        form = PairForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                displays.confirm_pairing(display, form.cleaned_data["code"])
            except displays.PairingNotFound:
                form.add_error(
                    "code", "No screen shows that code: it was mistyped, expired or used."
                )
            else:
                self.message_user(
                    request, f"“{display.name}” is paired: the screen starts now.", messages.SUCCESS
                )
                return HttpResponseRedirect(
                    reverse("admin:accounts_displaydevice_change", args=[display.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Pair “{display.name}”",
            "display": display,
            "form": form,
            "opts": self.model._meta,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/accounts/displaydevice/pair.html", context)
