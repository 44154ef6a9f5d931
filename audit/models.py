"""The audit trail's table and its chain head (docs/audit.md).

Entries are only ever added, in batches, by audit/chain.py; nothing in the
application edits or deletes one: `save()` of an existing entry, `delete()`
and the queryset's `update()` and `delete()` raise. Only `purge_audit`
removes the oldest entries past the retention (audit/chain.py, `purge`).
"""

from __future__ import annotations

from django.db import models


class AppendOnly(Exception):
    """An attempt to edit or delete audit entries through the application."""


class Action(models.TextChoices):
    """IHE ATNA (DICOM) event action codes."""

    CREATE = "C", "create"
    READ = "R", "read"
    UPDATE = "U", "update"
    DELETE = "D", "delete"
    EXECUTE = "E", "execute"


class Outcome(models.TextChoices):
    SUCCESS = "success", "success"
    FAILURE = "failure", "failure"
    REFUSED = "refused", "refused"


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit entries cannot be changed")

    def delete(self):
        raise AppendOnly("audit entries cannot be deleted (purge_audit removes expired ones)")


class AuditEntry(models.Model):
    """One audited event: who, what, when, where (address), outcome, and its link in the chain."""

    seq = models.BigIntegerField(unique=True, help_text="Position in the chain, 1, 2, 3...")
    time = models.DateTimeField(db_index=True, help_text="When it happened (UTC).")
    event = models.CharField(max_length=40, db_index=True)
    action = models.CharField(max_length=1, choices=Action.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    username = models.CharField(max_length=256, blank=True, db_index=True)
    level = models.CharField(max_length=16, blank=True)
    departments = models.CharField(max_length=512, blank=True)
    address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    channel = models.CharField(max_length=16, blank=True, help_text="api, socket, admin, command")
    detail = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.time:%Y-%m-%d %H:%M:%S} {self.event} {self.username or '-'}"

    def save(self, *args, **kwargs) -> None:
        raise AppendOnly("audit entries are written by the audit writer only")

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit entries cannot be deleted")


class AuditChain(models.Model):
    """The chain's one head row: the last entry written, and where the kept chain begins.

    Writers lock this row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's write lock, taken
    when the transaction begins) so that concurrent processes extend the chain one after the
    other. After a purge, `anchor_seq` is the first kept entry and `anchor_hash` the hash it
    links to, so the rest still verifies.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    anchor_seq = models.BigIntegerField(default=1)
    anchor_hash = models.CharField(max_length=64, default="0" * 64)
    purged_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"audit chain at #{self.last_seq}"
