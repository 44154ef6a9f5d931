from django.core.management.base import BaseCommand, CommandError

from audit.chain import verify
from audit.models import AuditChain
from runtime.command_errors import clear_failures


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain from its first kept entry to its head; exit 1 and "
        "name the first broken link (an edited, deleted or inserted entry)."
    )

    @clear_failures
    def handle(self, *args, **options):
        verdict = verify()
        if not verdict.ok:
            raise CommandError(
                f"audit chain broken at entry #{verdict.broken_seq}: {verdict.reason} "
                f"({verdict.checked} entries verified before it)"
            )
        head = AuditChain.objects.filter(pk=1).first() or AuditChain()
        self.stdout.write(
            self.style.SUCCESS(
                f"audit chain intact: {verdict.checked} entries, #{head.anchor_seq} to "
                f"#{head.last_seq}; head hash {head.last_hash}"
            )
        )
