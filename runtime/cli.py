"""`hospital-dashboard`: every management command, from any directory.

The console script an install puts on the PATH, `python -m dashboard_project`
and the checkout's `manage.py` all run this. Processes the dashboard starts
itself (server workers, the simulator) are started with `python_command()`,
the running interpreter and this module, never a path relative to the working
directory or the package.

The project's settings module and its `python -m` module are named here as strings, the way
DJANGO_SETTINGS_MODULE names them: nothing is imported from dashboard_project.
"""

from __future__ import annotations

import os
import sys

SETTINGS_MODULE = "dashboard_project.settings"
PROGRAM = "hospital-dashboard"


def python_command(*args: str) -> list[str]:
    """The command line of another dashboard process: `python -m dashboard_project ARGS`."""
    return [sys.executable, "-m", "dashboard_project", *args]


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading settings checks the environment
    except ImproperlyConfigured as exc:
        # A wrong or missing variable: one line that names it, not a traceback.
        sys.stderr.write(f"{PROGRAM}: configuration error: {exc}\n")
        raise SystemExit(2) from None
    args = list(sys.argv if argv is None else argv)
    execute_from_command_line([PROGRAM, *args[1:]])
