"""The listener's durable checkpoint (in the dashboard's own database, not only in Redis)."""

from django.db import models


class ListenerCheckpoint(models.Model):
    """The change stream's resume token after the last broadcast batch."""

    name = models.CharField(max_length=64, primary_key=True)
    resume_token = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"checkpoint {self.name} at {self.updated_at:%Y-%m-%d %H:%M:%S}"
