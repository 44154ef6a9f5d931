"""The demo hospital's departments and one login per level (demo mode only)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Department, Level
from .services import create_or_update_dashboard_user

# The simulator seeds the hospital data with these same codes.
DEMO_DEPARTMENTS: list[tuple[str, str]] = [
    ("ER", "Emergency"),
    ("CARD", "Cardiology"),
    ("NEURO", "Neurology"),
    ("ORTHO", "Orthopedics"),
    ("PED", "Pediatrics"),
    ("ONC", "Oncology"),
    ("RAD", "Radiology"),
    ("ICU", "Intensive Care"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    level: str
    departments: tuple[str, ...]
    django_admin: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("superadmin", "superadmin-demo", Level.SUPER_ADMIN, (), django_admin=True),
    DemoUser("admin", "admin-demo", Level.ADMIN, ("ER", "CARD")),
    DemoUser("viewer", "viewer-demo", Level.VIEWER, ()),
)


def ensure_demo_departments() -> list[str]:
    """Create the demo departments that are missing (existing names are kept); returns those created."""
    created = []
    for code, name in DEMO_DEPARTMENTS:
        _, was_created = Department.objects.get_or_create(code=code, defaults={"name": name})
        if was_created:
            created.append(code)
    return created


def create_demo_users() -> tuple[DemoUser, ...]:
    """Create or reset the demo users (fixed passwords); safe to run again."""
    ensure_demo_departments()
    for demo in DEMO_USERS:
        user, _ = create_or_update_dashboard_user(
            username=demo.username,
            level=demo.level,
            departments=demo.departments,
            password=demo.password,
            changed_by="create_demo_users",
        )
        # The demo super admin also runs Django admin, where levels are kept.
        user.is_active = True
        user.is_staff = user.is_superuser = demo.django_admin
        user.save(update_fields=["is_active", "is_staff", "is_superuser"])
    return DEMO_USERS
