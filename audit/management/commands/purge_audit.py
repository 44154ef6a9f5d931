import datetime as dt
import getpass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit import chain
from audit.entries import Actor, Where, entry
from runtime.command_errors import clear_failures


class Command(BaseCommand):
    help = (
        "Remove audit entries older than the retention (DASHBOARD_AUDIT_RETENTION_DAYS), after "
        "verifying the chain; the chain is anchored at the first kept entry, so it verifies again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            help="keep this many days instead of DASHBOARD_AUDIT_RETENTION_DAYS",
        )

    @clear_failures
    def handle(self, *args, days, **options):
        days = settings.DASHBOARD_AUDIT_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 or more")
        verdict = chain.verify()
        if not verdict.ok:
            raise CommandError(
                f"audit chain broken at entry #{verdict.broken_seq} ({verdict.reason}): nothing "
                "purged; run verify_audit and keep the evidence"
            )
        before = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        result = chain.purge(before)
        # The purge is itself on the record, written at once.
        chain.append(
            [
                entry(
                    "audit_purged",
                    "success",
                    Actor(username=_os_user()),
                    Where(address="local", channel="command"),
                    before=chain.iso(before),
                    removed=result.removed,
                    firstKept=result.anchor_seq,
                )
            ]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.removed} audit entries older than {chain.iso(before)} removed; the chain "
                f"now begins at #{result.anchor_seq}"
            )
        )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
