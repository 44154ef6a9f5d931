"""`manage.py watch_changes`: the change-stream listener as its own process."""

import asyncio
import logging
import signal

import prometheus_client
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from live.stream.listener import build_listener
from live.stream.verifier import verify_once
from metrics.catalogue import watched_collections
from runtime.dependencies import redis_configured
from runtime.engines import require_engines

VERIFY_TIMEOUT = 120.0


class Command(BaseCommand):
    help = (
        "Follow the hospital's change stream: fold changes into the incremental metrics, write "
        "the cache and broadcast. Resumes from its checkpoint; one active across instances. "
        "SIGUSR1 makes a running listener verify its metrics against the full aggregations."
    )

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=float, default=None, help="exit after S seconds")
        parser.add_argument("--batch-size", type=int, default=None, help="changes per batch (100)")
        parser.add_argument(
            "--batch-interval", type=float, default=None, help="seconds a batch may wait (1.0)"
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.DASHBOARD_LISTENER_METRICS_PORT,
            help="serve this process's Prometheus metrics on this port (0: off)",
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help=(
                "build the incremental metrics as a starting listener does, compare each with "
                "the full aggregation, print the result and exit (1: a difference, 2: a "
                "collection never stayed still long enough; --duration: how long to try, "
                f"{VERIFY_TIMEOUT:.0f} s). Stores and broadcasts nothing"
            ),
        )

    def handle(
        self,
        *args,
        duration=None,
        batch_size=None,
        batch_interval=None,
        metrics_port=0,
        verify=False,
        **options,
    ):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if batch_interval is not None and batch_interval < 0:
            raise CommandError("--batch-interval must not be negative")
        if duration is not None and duration <= 0:
            raise CommandError("--duration must be positive")
        # INFO at least (the summary every 30 s); DASHBOARD_LOG_LEVEL=DEBUG adds a line per flush.
        logger = logging.getLogger("dashboard")
        logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
        require_engines("watch_changes")
        if verify:
            self._verify(duration or VERIFY_TIMEOUT)
            return
        if not redis_configured():
            self.stderr.write(
                "REDIS_URL is not set: broadcasts from this process reach no server. "
                "Use `manage.py serve` (it runs the listener in-process) or set REDIS_URL."
            )
        if metrics_port:
            # The listener is its own process: it exports its own registry for Prometheus.
            address = settings.DASHBOARD_LISTENER_METRICS_ADDRESS
            try:
                prometheus_client.start_http_server(metrics_port, addr=address)
            except OSError as exc:
                raise CommandError(
                    f"cannot serve metrics on {address}:{metrics_port} ({exc.strerror}): another "
                    "watch_changes on this host? Give each its own --metrics-port (0: no exporter)."
                ) from None
            self.stdout.write(f"metrics on http://{address}:{metrics_port}/metrics")
        asyncio.run(self._run(duration, batch_size, batch_interval))

    async def _run(self, duration, batch_size, batch_interval):
        listener = build_listener(batch_size=batch_size, batch_interval=batch_interval)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, listener.stop)
        await listener.run(duration=duration)
        self.stdout.write(f"listener stopped after {listener.batches} flushes")

    def _verify(self, timeout: float) -> None:
        results = asyncio.run(
            verify_once(settings.DASHBOARD_WATCHED_COLLECTIONS or watched_collections(), timeout)
        )
        for metric, result in results.items():
            self.stdout.write(f"{metric}: {result}")
        if any(result.startswith("differs") for result in results.values()):
            raise SystemExit(1)
        if any(result == "busy" for result in results.values()):
            raise SystemExit(2)
