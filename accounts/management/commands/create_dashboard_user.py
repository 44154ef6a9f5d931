from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Level
from accounts.policy import access_for
from accounts.services import DashboardUserError, create_or_update_dashboard_user
from runtime.command_errors import clear_failures


class Command(BaseCommand):
    help = (
        "Create a dashboard user with a level and departments, or update an existing one "
        "(level, departments, and the password when one is given)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--level", required=True, help=f"one of {', '.join(Level.values)}")
        parser.add_argument(
            "--departments",
            default="",
            help="comma-separated department codes, e.g. ER,CARD (none: see docs/accounts.md)",
        )
        parser.add_argument(
            "--password", help="the password to set (a new user without one gets a random one)"
        )

    @clear_failures
    def handle(self, *args, username, level, departments, password, **options):
        existed = get_user_model().objects.filter(username=username).exists()
        try:
            user, generated = create_or_update_dashboard_user(
                username=username,
                level=level,
                departments=departments.split(","),
                password=password,
                changed_by="create_dashboard_user",
            )
        except DashboardUserError as exc:
            raise CommandError(str(exc)) from exc
        covered = access_for(user).scope.as_list()
        if covered is None:
            scope = "all departments"
        else:
            scope = ", ".join(covered) or "no departments, so its numbers cover nothing"
        verb = "Updated existing" if existed else "Created"
        self.stdout.write(self.style.SUCCESS(f"{verb} user {user.username!r}: {level}, {scope}."))
        if password is not None:
            self.stdout.write("Password set as given.")
        elif generated is not None:
            self.stdout.write(f"Generated password: {generated}")
        else:
            self.stdout.write("Password unchanged.")
        if not user.is_active:
            self.stdout.write(self.style.WARNING("This user is inactive: it cannot log in."))
