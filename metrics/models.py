"""The dashboard's own records about hospital data (never written to the hospital's MongoDB)."""

from django.conf import settings
from django.db import models


class AlertAcknowledgement(models.Model):
    """An admin has seen an emergency alert (a workflow id). One per alert: acknowledging is idempotent."""

    alert_id = models.CharField(max_length=64, unique=True)
    department_id = models.CharField(max_length=16, blank=True, default="")
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by_username = models.CharField(max_length=150)
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ["-acknowledged_at"]

    def __str__(self) -> str:
        return f"alert {self.alert_id} by {self.acknowledged_by_username}"
