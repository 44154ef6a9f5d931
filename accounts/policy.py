"""The one access policy: which metrics a user may see, over which departments, and whether it may act.

REST views, the WebSocket consumer, snapshots, historical queries and
broadcast groups all ask this module; no other permission logic exists.

| level       | metrics                          | scope                                 | acknowledge_alert  |
|-------------|----------------------------------|---------------------------------------|--------------------|
| super_admin | all                              | all departments                       | yes                |
| admin       | all                              | its departments (none set: nothing)   | in its departments |
| viewer      | all but revenue; historical rows | its departments, or all when none set | no                 |
|             | without their revenue fields     |                                       |                    |

No level, an unknown level or an inactive user: no metric, no department, no action.

A display device (accounts.models.DisplayDevice) is a principal of its own kind: it sees what a
viewer of its departments sees (revenue too when it is not read-only) and never acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics.catalogue import LIVE_METRICS, METRICS, REVENUE_FIELDS
from metrics.scope import Scope

from .models import Level

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


USER = "user"
DISPLAY = "display"


@dataclass(frozen=True)
class Access:
    """What one user may do on the dashboard, as loaded from its profile."""

    user_id: int | None
    username: str
    level: str | None
    departments: frozenset[str]
    is_active: bool = True
    # "user" (a person) or "display" (a shared wall screen, accounts.models.DisplayDevice).
    kind: str = USER

    @property
    def is_display(self) -> bool:
        return self.kind == DISPLAY

    @property
    def has_dashboard_access(self) -> bool:
        return self.is_active and self.level in Level.values

    @property
    def privileged(self) -> bool:
        """Admins and super admins: they see revenue and may act; viewers are read-only."""
        return self.has_dashboard_access and self.level != Level.VIEWER

    @property
    def scope(self) -> Scope:
        """The departments every number this user sees is computed over."""
        if not self.has_dashboard_access:
            return Scope.of(())
        if self.level == Level.SUPER_ADMIN:
            return Scope.all()
        if self.level == Level.ADMIN:
            return Scope.of(self.departments)
        if self.level == Level.VIEWER:
            return Scope.of(self.departments) if self.departments else Scope.all()
        return Scope.of(())

    def can_see(self, metric: str) -> bool:
        definition = METRICS.get(metric)
        if definition is None or not self.has_dashboard_access:
            return False
        # Historical rows keep their other columns (hidden_fields strips the money);
        # a live metric that carries revenue is nothing but revenue.
        return self.privileged or not (definition.carries_revenue and definition.live)

    @property
    def visible_metrics(self) -> list[str]:
        """Every metric name this user may see, catalogue order."""
        return [name for name in METRICS if self.can_see(name)]

    @property
    def live_metrics(self) -> list[str]:
        """The live (subscribable) metrics this user may see, critical first."""
        return [name for name in LIVE_METRICS if self.can_see(name)]

    def hidden_fields(self, metric: str) -> frozenset[str]:
        """Fields to remove from rows of a historical metric this user sees."""
        definition = METRICS.get(metric)
        if definition is None or definition.live or self.privileged:
            return frozenset()
        return REVENUE_FIELDS if definition.carries_revenue else frozenset()

    def can_acknowledge(self, department_id: Any) -> bool:
        """May this user acknowledge an emergency alert raised in `department_id`?"""
        return self.may_acknowledge and self.scope.includes(department_id)

    @property
    def may_acknowledge(self) -> bool:
        """Admins and super admins acknowledge alerts; viewers and displays never do."""
        return self.privileged and not self.is_display

    @property
    def may_view_instances(self) -> bool:
        """The instance registry (addresses, connection counts) is for super admins only."""
        return self.has_dashboard_access and self.level == Level.SUPER_ADMIN and not self.is_display


NO_ACCESS = Access(user_id=None, username="", level=None, departments=frozenset(), is_active=False)


def access_for(user: AbstractBaseUser | AnonymousUser | None) -> Access:
    """Load a user's access from its dashboard profile (one query for the departments)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_ACCESS
    display = _display_of(user)
    if display is not None:
        return display_access(display, user)
    profile = getattr(user, "dashboard_profile", None) if _has_profile(user) else None
    if profile is None:
        return Access(user.pk, user.get_username(), None, frozenset(), user.is_active)
    departments = frozenset(profile.departments.values_list("code", flat=True))
    return Access(user.pk, user.get_username(), profile.level or None, departments, user.is_active)


def display_access(display: Any, user: Any) -> Access:
    """A display's access: a viewer's view of its departments (revenue too when not read-only)."""
    departments = frozenset(display.departments.values_list("code", flat=True))
    level = Level.VIEWER if display.read_only else Level.ADMIN
    if not display.read_only and not departments:
        level = Level.SUPER_ADMIN  # every department, as a viewer with none would see
    active = bool(display.active and user.is_active and display.secret_hash)
    return Access(user.pk, display.name, level, departments, active, DISPLAY)


def _display_of(user: Any) -> Any:
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return user.display_device
    except (ObjectDoesNotExist, AttributeError):
        return None


def _has_profile(user: Any) -> bool:
    from django.core.exceptions import ObjectDoesNotExist

    try:
        user.dashboard_profile  # noqa: B018 - touching the relation raises when absent
    except ObjectDoesNotExist:
        return False
    return True
