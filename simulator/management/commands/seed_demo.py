"""`manage.py seed_demo`: write the demo hospital into the configured store."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.store import get_database
from runtime.command_errors import clear_failures
from simulator.hospital import DEFAULT_PATIENTS
from simulator.seed import HospitalNotEmpty, seed_hospital


class Command(BaseCommand):
    help = (
        "Seed a demo hospital: 8 departments, 200 rooms, 150 staff, patients of the last four "
        "weeks with their appointments, bills and workflows. Same --seed, same hospital."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--patients",
            type=int,
            default=DEFAULT_PATIENTS,
            help=f"number of patients (default {DEFAULT_PATIENTS})",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the hospital already has patients",
        )
        parser.add_argument(
            "--reset", action="store_true", help="drop the hospital's collections first"
        )
        parser.add_argument(
            "--now",
            default=None,
            help="seed as if it were this ISO 8601 moment (reproducible snapshots)",
        )

    @clear_failures
    def handle(self, *args, seed, patients, if_empty, reset, now, **options):
        if if_empty and reset:
            raise CommandError("--if-empty and --reset contradict each other")
        if patients < 0:
            raise CommandError("--patients must not be negative")
        moment = timezone.localtime(_parse_now(now) if now else timezone.now())
        # The command's options go through as seed_hospital names them.
        chosen = {"seed": seed, "patients": patients, "reset": reset, "if_empty": if_empty}
        try:
            result = seed_hospital(
                get_database(), now=moment, currency=settings.HOSPITAL_CURRENCY, **chosen
            )
        except HospitalNotEmpty as exc:
            raise CommandError(
                f"{exc}: use --reset to replace it or --if-empty to keep it"
            ) from exc
        if result.skipped:
            self.stdout.write(
                f"the hospital already has {result.existing_patients} patients: nothing seeded"
            )
            return
        counts = ", ".join(f"{name} {count}" for name, count in result.counts.items())
        self.stdout.write(
            f"seeded the demo hospital (seed {seed}) in {result.seconds:.1f} s: {counts}"
        )


def _parse_now(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--now: not an ISO 8601 moment: {text!r}") from exc
    if moment.tzinfo is None:
        raise CommandError("--now needs a UTC offset (e.g. 2025-03-12T14:00:00+01:00)")
    return moment
