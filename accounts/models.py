"""Permission levels and departments of dashboard users (docs/accounts.md)."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Level(models.TextChoices):
    SUPER_ADMIN = "super_admin", "Super admin (all metrics, all departments)"
    ADMIN = "admin", "Admin (all metrics, own departments)"
    VIEWER = "viewer", "Viewer (read-only, no revenue)"


department_code_validator = RegexValidator(
    r"^[A-Za-z0-9_-]{1,16}$", "Department codes are 1-16 letters, digits, '_' or '-'."
)


class Department(models.Model):
    """A hospital department, keyed by the code the hospital data uses (`departmentId`)."""

    code = models.CharField(max_length=16, primary_key=True, validators=[department_code_validator])
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class DashboardProfile(models.Model):
    """A user's dashboard access: a level and the departments it covers. No level, no access."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_profile"
    )
    level = models.CharField(max_length=16, choices=Level.choices, blank=True, default="")
    departments = models.ManyToManyField(Department, blank=True, related_name="profiles")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "dashboard access"
        verbose_name_plural = "dashboard access"

    def __str__(self) -> str:
        return f"{self.user} ({self.level or 'no access'})"
