from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import create_demo_users
from runtime.command_errors import clear_failures


class Command(BaseCommand):
    help = (
        "Demo mode only: create the demo departments and one user per level, with fixed passwords."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even though DEBUG is off (the users get well-known passwords)",
        )

    @clear_failures
    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo users with well-known passwords: DEBUG is off. "
                "Use --force if this really is a demo installation."
            )
        users = create_demo_users()
        self.stdout.write(
            self.style.SUCCESS("Demo users ready (demo passwords, do not use in production):")
        )
        width = max(len(user.username) for user in users)
        for user in users:
            scope = ",".join(user.departments) or "all departments"
            extra = ", Django admin" if user.django_admin else ""
            self.stdout.write(
                f"  {user.username:<{width}}  password {user.password:<16} {user.level} ({scope}{extra})"
            )
