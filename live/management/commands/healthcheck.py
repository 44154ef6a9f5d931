"""`healthcheck`: exit 0 while the server on this host answers `/health/live/` (the image's
HEALTHCHECK, deploy/Dockerfile).

The request carries a `Host` from DJANGO_ALLOWED_HOSTS, since the server refuses
any other, and goes over plain HTTP to the loopback address, which the HTTPS
redirect leaves alone for health checks.
"""

import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def request_host() -> str:
    """A Host the server accepts: the first allowed name that is not a pattern."""
    for host in settings.ALLOWED_HOSTS:
        if host and not host.startswith((".", "*")):
            return host
    return "localhost"


class Command(BaseCommand):
    help = "Exit 0 if the server on this host answers /health/live/ (for container health checks)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--timeout", type=float, default=3.0)

    def handle(self, *args, port, timeout, **options):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/health/live/", headers={"Host": request_host()}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise CommandError(f"/health/live/ answered {exc.code}") from None
        except OSError as exc:
            raise CommandError(f"no server on 127.0.0.1:{port}: {exc}") from None
        self.stdout.write(f"/health/live/ answered {status}")
