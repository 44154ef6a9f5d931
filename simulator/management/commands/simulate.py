"""`manage.py simulate`: live hospital activity at a steady rate until interrupted."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metrics.store import get_database
from runtime.command_errors import clear_failures
from simulator.runner import run


class Command(BaseCommand):
    help = (
        "Write realistic hospital activity (registrations, admissions, discharges, appointments, "
        "rooms, bills, workflows, emergencies, shifts, deletions) at --rate changes per second, "
        "the hospital --pace times as busy as its usual day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rate", type=float, default=5.0, help="changes per second (default 5)"
        )
        parser.add_argument(
            "--pace",
            type=float,
            default=1.0,
            help="how many times busier than its usual day the hospital is: every hospital "
            "event (arrivals, discharges, emergencies, rooms, shifts...) that much more often "
            "(default 1)",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help="stop after S seconds (default: until interrupted)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed")

    @clear_failures
    def handle(self, *args, rate, pace, duration, seed, **options):
        if rate <= 0:
            raise CommandError("--rate must be positive")
        if pace <= 0:
            raise CommandError("--pace must be positive")
        if duration is not None and duration <= 0:
            raise CommandError("--duration must be positive")
        stop = threading.Event()
        previous = _on_signals(lambda *_: stop.set())
        until = f"for {duration:g} s" if duration else "until interrupted"
        zone = timezone.get_default_timezone()
        self.stdout.write(
            f"simulating hospital activity at {rate:g} changes/s, pace {pace:g}, "
            f"local time {timezone.localtime():%H:%M} ({zone}) ({until})"
        )
        try:
            summary = run(
                get_database(),
                rate=rate,
                pace=pace,
                duration=duration,
                seed=seed,
                stop=stop,
                tz=zone,
                report=lambda stretch: self._say(f"last {stretch.line()}"),
            )
        finally:
            _restore(previous)
        self._say(f"simulated {summary.line()}")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # a log file should show each line as it happens


def _on_signals(handler):
    """Ctrl-C and SIGTERM stop the loop cleanly (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous):
    for signum, handler in previous.items():
        signal.signal(signum, handler)
