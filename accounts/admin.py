"""Django admin: a user's dashboard level and departments on its own page; departments."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q
from django.utils import timezone

from .models import DashboardProfile, Department, Level

User = get_user_model()


class DashboardProfileForm(forms.ModelForm):
    class Meta:
        model = DashboardProfile
        fields = ("level", "departments")
        help_texts = {
            "level": "No level: no dashboard access at all.",
            "departments": "Admins see only these departments (none: nothing). Viewers see these, "
            "or every department when none is chosen. Super admins always see every department.",
        }


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


@admin.register(User)
class DashboardUserAdmin(UserAdmin):
    inlines = (DashboardProfileInline,)
    list_display = (*UserAdmin.list_display, "dashboard_level", "dashboard_departments")
    list_filter = (
        DashboardLevelFilter,
        ("dashboard_profile__departments", admin.RelatedFieldListFilter),
        *UserAdmin.list_filter,
    )
    search_fields = ("username", "first_name", "last_name", "email")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Any save of the user page (active flag included) marks its access as changed.
        DashboardProfile.objects.filter(user=form.instance).update(updated_at=timezone.now())


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        # The code is the key the hospital data uses: renaming it would orphan that data.
        return ("code",) if obj is not None else ()
