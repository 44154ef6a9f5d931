"""Django admin: a user's dashboard level and departments first on its page; departments.

Django's own model permissions are about editing these admin pages, not about
what the dashboard shows: those of the dashboard's internal records are
hidden, and the rest say so where they are chosen.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone

from audit.events import actor_of, from_request

from .audit_trail import access_changed, access_state
from .changes import announce_access_change
from .models import DashboardProfile, Department, Level
from .policy import access_for

User = get_user_model()


# Records the dashboard keeps for itself (acknowledgements, the listener's checkpoint, the audit
# trail): no admin page edits them, so permissions on them mean nothing and are not offered.
INTERNAL_APPS = ("metrics", "live", "audit")
# Permissions on these apps' models only let a staff user edit those records in this admin.
DASHBOARD_APPS = ("accounts",)

LEVEL_HELP = (
    "What the dashboard shows this user, and what an empty department list means. "
    "Super admin: every department, whatever is chosen below. "
    "Admin: only the departments chosen below; with none chosen, it sees nothing. "
    "Viewer: read-only, no revenue; the departments chosen below, or every department "
    "when none is chosen. No level: no dashboard access at all."
)
PERMISSIONS_HELP = (
    "Django admin permissions: what a staff user may view or edit on these admin pages. "
    "They grant no dashboard access; that is the Dashboard access section at the top."
)


class DashboardProfileForm(forms.ModelForm):
    class Meta:
        model = DashboardProfile
        fields = ("level", "departments")
        help_texts = {
            "level": LEVEL_HELP,
            "departments": "Empty means nothing for an admin and everything for a viewer "
            "(see the level above).",
        }


class PermissionChoice(forms.ModelMultipleChoiceField):
    """Django's permissions, the dashboard's own explained as admin-only."""

    def label_from_instance(self, permission: Permission) -> str:
        label = super().label_from_instance(permission)
        if permission.content_type.app_label in DASHBOARD_APPS:
            return f"{label} (editing these admin pages: grants no dashboard access)"
        return label


class DashboardProfileInline(admin.StackedInline):
    model = DashboardProfile
    form = DashboardProfileForm
    can_delete = False
    max_num = 1
    extra = 1
    filter_horizontal = ("departments",)
    verbose_name = verbose_name_plural = "dashboard access"


class DashboardLevelFilter(admin.SimpleListFilter):
    title = "dashboard level"
    parameter_name = "dashboard_level"
    NONE = "none"

    def lookups(self, request, model_admin):
        return [*Level.choices, (self.NONE, "No dashboard access")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NONE:
            return queryset.filter(
                Q(dashboard_profile__isnull=True) | Q(dashboard_profile__level="")
            )
        if value in Level.values:
            return queryset.filter(dashboard_profile__level=value)
        return queryset


admin.site.unregister(User)


# Django's own columns and filters: class attributes of its UserAdmin, which django-stubs
# declares per instance (hence getattr).
BASE_LIST_DISPLAY: tuple = tuple(getattr(UserAdmin, "list_display"))  # noqa: B009
BASE_LIST_FILTER: tuple = tuple(getattr(UserAdmin, "list_filter"))  # noqa: B009


@admin.register(User)
class DashboardUserAdmin(UserAdmin):
    inlines = (DashboardProfileInline,)
    # The change page shows Dashboard access first, above Django's own fieldsets.
    change_form_template = "admin/accounts/user_change_form.html"
    fieldsets = tuple(
        (name, {**options, "description": PERMISSIONS_HELP})
        if "user_permissions" in options["fields"]
        else (name, options)
        for name, options in (UserAdmin.fieldsets or ())
    )
    list_display = (*BASE_LIST_DISPLAY, "dashboard_level", "dashboard_departments")
    list_filter = (
        DashboardLevelFilter,
        ("dashboard_profile__departments", admin.RelatedFieldListFilter),
        *BASE_LIST_FILTER,
    )
    search_fields = ("username", "first_name", "last_name", "email")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "user_permissions":
            kwargs["form_class"] = PermissionChoice
            kwargs["queryset"] = (
                Permission.objects.exclude(content_type__app_label__in=INTERNAL_APPS)
                .select_related("content_type")
                .order_by("content_type__app_label", "content_type__model", "codename")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            # Display devices are listed on their own page (accounts/display_admin.py).
            .filter(display_device__isnull=True)
            .select_related("dashboard_profile")
            .prefetch_related("dashboard_profile__departments")
        )

    @admin.display(description="dashboard level", ordering="dashboard_profile__level")
    def dashboard_level(self, user) -> str:
        profile = getattr(user, "dashboard_profile", None)
        return profile.get_level_display() if profile and profile.level else "—"

    @admin.display(description="departments")
    def dashboard_departments(self, user) -> str:
        profile = getattr(user, "dashboard_profile", None)
        codes = sorted(d.code for d in profile.departments.all()) if profile else []
        return ", ".join(codes) or "—"

    def save_model(self, request, obj, form, change):
        # The access as stored before this save, for the audit trail (None: a new user).
        request.access_before = access_state(obj) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Any save of the user page (active flag included) marks its access as changed.
        DashboardProfile.objects.filter(user=form.instance).update(updated_at=timezone.now())
        before = getattr(request, "access_before", None)
        self._audit(request, form.instance, before, access_state(form.instance))
        # Its open sockets re-read it once this save commits (accounts/changes.py), and get
        # `access_changed` or a 4003 close at once rather than at the next periodic re-read.
        if change:
            announce_access_change([form.instance.pk])

    def delete_model(self, request, obj):
        before = access_state(obj)
        super().delete_model(request, obj)
        self._audit(request, obj, before, None)

    def delete_queryset(self, request, queryset):
        doomed = [(user, access_state(user)) for user in queryset]
        super().delete_queryset(request, queryset)
        for user, before in doomed:
            self._audit(request, user, before, None)

    def _audit(self, request, user, before, after) -> None:
        by = actor_of(access_for(request.user))
        access_changed(user, before, after, by, from_request(request, "admin"))


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        # The code is the key the hospital data uses: renaming it would orphan that data.
        return ("code",) if obj is not None else ()


# Display devices: a principal of their own kind, with their own page.
from . import display_admin  # noqa: E402, F401
