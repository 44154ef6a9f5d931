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


class DisplayDevice(models.Model):
    """A shared wall screen: a principal of its own, never a person (docs/sign-in.md).

    Super admins register it in Django admin and confirm the pairing code it shows at
    `/display/`; it then holds a device credential (a long random secret, kept here only as a
    SHA-256 digest) that it exchanges for short-lived access tokens. The linked user is internal:
    it carries the display through the token and socket machinery, has no usable password, is
    never staff, and is not listed among users.
    """

    name = models.CharField(max_length=100, unique=True)
    departments = models.ManyToManyField(Department, blank=True, related_name="displays")
    read_only = models.BooleanField(
        "read-only",
        default=True,
        help_text="On: a viewer's view, without revenue. Off: revenue figures too. "
        "A display never acknowledges alerts either way.",
    )
    active = models.BooleanField(
        default=True,
        help_text="Turning this off revokes the display: its socket closes at once and its "
        "credential stops working. Pair it again to bring it back.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="display_device",
        editable=False,
    )
    secret_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    paired_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField("last seen", null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "display device"

    def __str__(self) -> str:
        return self.name

    @property
    def paired(self) -> bool:
        return bool(self.secret_hash)


class ProviderIdentity(models.Model):
    """A user who signs in through the identity provider: its `iss` and `sub` (accounts/oidc.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_identity")
        ]
        verbose_name = "single sign-on identity"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
