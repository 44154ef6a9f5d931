"""The hash chain: appending a batch of entries, verifying the chain, purging its oldest part.

Each entry's `hash` is SHA-256 over the previous entry's hash and the entry's
canonical content (its fields as JSON, keys sorted, times in UTC to the
microsecond), so an edited, deleted or inserted entry breaks a link that
`verify()` names. Writers extend the chain inside one transaction that holds
the head row (audit.models.AuditChain): SELECT ... FOR UPDATE on PostgreSQL,
SQLite's write lock (taken when the transaction begins, settings.py) there,
so several processes writing at once still make one chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from .models import AuditChain, AuditEntry

# The fields a hash covers, in this order (with `seq` and `previous_hash`).
CONTENT_FIELDS = (
    "time",
    "event",
    "action",
    "outcome",
    "user_id",
    "username",
    "level",
    "departments",
    "address",
    "user_agent",
    "channel",
    "detail",
)
GENESIS = "0" * 64


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical(seq: int, content: dict[str, Any]) -> str:
    """The text an entry's hash covers: its position and content, as sorted compact JSON."""
    fields: dict[str, Any] = {name: content.get(name) for name in CONTENT_FIELDS}
    fields["time"] = iso(fields["time"])
    fields["seq"] = seq
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(previous_hash: str, seq: int, content: dict[str, Any]) -> str:
    text = previous_hash + "\n" + canonical(seq, content)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_of(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in CONTENT_FIELDS}


def locked_head() -> AuditChain:
    """The chain's head row, locked until the transaction ends (call inside one)."""
    head = AuditChain.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the migration creates it; a database emptied by hand gets it back
        AuditChain.objects.get_or_create(pk=1)
        head = AuditChain.objects.select_for_update().get(pk=1)
    return head


def stored_form(content: dict[str, Any]) -> dict[str, Any]:
    """An entry's content as the database gives it back, so that the hash computed now is the one
    verified later: an integer user id (a token's claim is a string), the detail as JSON has it."""
    user_id = content.get("user_id")
    return {
        **content,
        "user_id": int(user_id) if user_id not in (None, "") else None,
        "detail": json.loads(json.dumps(content.get("detail") or {}, default=str)),
    }


def append(contents: Sequence[dict[str, Any]]) -> list[AuditEntry]:
    """Write entries (dicts of CONTENT_FIELDS) at the end of the chain, in one transaction."""
    if not contents:
        return []
    contents = [stored_form(content) for content in contents]
    with transaction.atomic():
        head = locked_head()
        seq, previous = head.last_seq, head.last_hash
        entries = []
        for content in contents:
            seq += 1
            digest = entry_hash(previous, seq, content)
            entries.append(AuditEntry(seq=seq, previous_hash=previous, hash=digest, **content))
            previous = digest
        _insert(entries)
        AuditChain.objects.filter(pk=1).update(last_seq=seq, last_hash=previous)
    return entries


ROW_FIELDS = ("seq", "previous_hash", "hash", *CONTENT_FIELDS)


# Rows per INSERT statement: 15 values each, under SQLite's oldest limit of 999 parameters.
ROWS_PER_INSERT = 60


def _insert(entries: list[AuditEntry]) -> None:
    """Multi-row INSERTs for the batch, values prepared as the ORM would (the time in the
    database's form, the detail as JSON): bulk_create's per-field preparation was most of a
    batch's cost."""
    meta = AuditEntry._meta
    quote = connection.ops.quote_name
    column_of = {field.name: str(field.column) for field in meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in ROW_FIELDS)
    placeholders = f"({', '.join(['%s'] * len(ROW_FIELDS))})"
    detail = meta.get_field("detail")
    adapt_time = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(entries), ROWS_PER_INSERT):
            chunk = entries[start : start + ROWS_PER_INSERT]
            params: list = []
            for item in chunk:
                params += (
                    item.seq,
                    item.previous_hash,
                    item.hash,
                    adapt_time(item.time),
                    item.event,
                    item.action,
                    item.outcome,
                    item.user_id,
                    item.username,
                    item.level,
                    item.departments,
                    item.address,
                    item.user_agent,
                    item.channel,
                    detail.get_db_prep_save(item.detail, connection),
                )
            values = ", ".join([placeholders] * len(chunk))
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}", params
            )


@dataclass(frozen=True)
class Verdict:
    """The result of a verification: how many entries were checked and the first broken link."""

    checked: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(chunk: int = 2000) -> Verdict:
    """Walk the chain from its anchor to its head; the first entry whose link does not hold."""
    head = AuditChain.objects.filter(pk=1).first() or AuditChain()
    before = AuditEntry.objects.filter(seq__lt=head.anchor_seq).order_by("seq").first()
    if before is not None:
        return Verdict(
            0,
            before.seq,
            f"entry #{before.seq} precedes the chain's first entry "
            f"#{head.anchor_seq}: it was inserted",
        )
    expected, previous, checked = head.anchor_seq, head.anchor_hash, 0
    entries: Iterable[AuditEntry] = AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk)
    for entry in entries:
        if entry.seq > head.last_seq:
            return Verdict(
                checked,
                entry.seq,
                f"entry #{entry.seq} is beyond the chain's head #{head.last_seq}: it was inserted",
            )
        if entry.seq != expected:
            return Verdict(
                checked,
                expected,
                f"entry #{expected} is missing: it was deleted (the next entry is #{entry.seq})",
            )
        if entry.previous_hash != previous:
            return Verdict(
                checked,
                entry.seq,
                f"entry #{entry.seq} does not link to the entry "
                "before it: an entry was inserted or deleted there",
            )
        if entry_hash(entry.previous_hash, entry.seq, content_of(entry)) != entry.hash:
            return Verdict(
                checked, entry.seq, f"entry #{entry.seq} does not match its hash: it was edited"
            )
        checked += 1
        expected, previous = entry.seq + 1, entry.hash
    if expected <= head.last_seq:
        return Verdict(
            checked,
            expected,
            f"entries #{expected} to #{head.last_seq} are missing: they were deleted",
        )
    if previous != head.last_hash:
        return Verdict(
            checked,
            head.last_seq,
            f"entry #{head.last_seq} is not the one the chain's head recorded: it was replaced",
        )
    return Verdict(checked)


@dataclass(frozen=True)
class Purge:
    removed: int
    anchor_seq: int


def purge(before: dt.datetime) -> Purge:
    """Remove the oldest entries, up to the first one written at or after `before` (so none
    younger is removed), and anchor the chain at the first kept entry."""
    with transaction.atomic():
        head = locked_head()
        first_kept = (
            AuditEntry.objects.filter(time__gte=before)
            .order_by("seq")
            .values_list("seq", flat=True)
        ).first()
        last_removed = (first_kept - 1) if first_kept is not None else head.last_seq
        if last_removed < head.anchor_seq:
            return Purge(0, head.anchor_seq)
        if first_kept is not None:
            anchor_hash = AuditEntry.objects.get(seq=first_kept).previous_hash
        else:
            anchor_hash = head.last_hash
        doomed = AuditEntry.objects.filter(seq__lte=last_removed)
        # The one removal of entries there is: around the append-only queryset.
        removed = doomed._raw_delete(doomed.db)
        AuditChain.objects.filter(pk=1).update(
            anchor_seq=last_removed + 1, anchor_hash=anchor_hash, purged_before=before
        )
    return Purge(removed, last_removed + 1)
