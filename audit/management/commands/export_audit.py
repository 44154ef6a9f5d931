import csv
import datetime as dt
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from audit.chain import CONTENT_FIELDS
from audit.models import AuditEntry
from audit.writer import as_record
from runtime.command_errors import clear_failures

COLUMNS = ("seq", *CONTENT_FIELDS, "previousHash", "hash")


def moment(text: str) -> dt.datetime:
    """An ISO 8601 date or time; without an offset, UTC."""
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise CommandError(f"{text!r} is not an ISO 8601 date or time (2026-12-01T08:00:00Z)")
        parsed = dt.datetime.combine(day, dt.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Export audit entries in chain order, as JSON lines or CSV (every field, the hashes too)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", help="from this time on (ISO 8601; a date is its midnight, UTC)"
        )
        parser.add_argument("--until", help="before this time (ISO 8601)")
        parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
        parser.add_argument("--output", help="a file to write (default: standard output)")

    @clear_failures
    def handle(self, *args, since, until, format, output, **options):
        entries = AuditEntry.objects.order_by("seq")
        if since:
            entries = entries.filter(time__gte=moment(since))
        if until:
            entries = entries.filter(time__lt=moment(until))
        stream = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
        try:
            count = self.write(entries, format, stream)
        finally:
            if output:
                stream.close()
        self.stderr.write(f"{count} audit entries exported")

    def write(self, entries, format, stream) -> int:
        count = 0
        writer = csv.DictWriter(stream, COLUMNS) if format == "csv" else None
        if writer is not None:
            writer.writeheader()
        for item in entries.iterator(chunk_size=2000):
            record = as_record(item)
            if writer is not None:
                record["detail"] = json.dumps(record["detail"], sort_keys=True, ensure_ascii=False)
                writer.writerow(record)
            else:
                stream.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
        return count
