"""The hospital's time zone when `TIME_ZONE` is not set: the machine's own, or one that puts the
local clock at the hour `DASHBOARD_DEMO_AT` asks for.

"Today", office hours and the night are the hospital's: a demo run in
California after lunch shows the hospital after lunch. `DASHBOARD_DEMO_AT`
(`HH:MM`) shows the demo at another hour without touching the machine's
clock: it picks the fixed-offset zone (`Etc/GMT+N`) whose local hour is that
hour now, so the server, the listener and the simulator all agree on it
(docs/simulator.md).

Processes that start one after another (`make run`: `seed_demo`, then
`serve`) must share one pick, or an hour turning between them seeds the
history in one zone and shows it in the next: `python -m
dashboard_project.time_zone` prints the zone these settings would choose, for
the caller to pass on as `TIME_ZONE`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.core.exceptions import ImproperlyConfigured

from .env import env_str

logger = logging.getLogger(__name__)

_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def machine_time_zone() -> str:
    """The machine's IANA time zone name, or UTC when it cannot be told."""
    try:
        import tzlocal

        return tzlocal.get_localzone_name() or "UTC"
    except Exception as exc:  # an unreadable /etc/localtime must not stop the server
        logger.warning("the machine's time zone cannot be read (%s): using UTC", exc)
        return "UTC"


def zone_at_hour(at: str, now: dt.datetime | None = None) -> str:
    """The `Etc/GMT±N` zone whose local hour is `at`'s hour (`HH:MM`) at `now` (UTC by default).

    Minutes are the machine's: whole-hour zones move the hour only. Every hour
    is reachable, since the `Etc` zones run from UTC-12 to UTC+14.
    """
    match = _AT.match(at.strip())
    if match is None:
        raise ImproperlyConfigured(f"DASHBOARD_DEMO_AT must be HH:MM (00:00-23:59), got {at!r}")
    now = now or dt.datetime.now(dt.UTC)
    offset = (int(match.group(1)) - now.astimezone(dt.UTC).hour) % 24
    if offset > 14:
        offset -= 24
    # POSIX style: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def hospital_time_zone(configured: str | None, demo_at: str | None) -> str:
    """`TIME_ZONE` as set; else the zone `DASHBOARD_DEMO_AT` asks for; else the machine's."""
    if configured:
        return configured
    if demo_at:
        return zone_at_hour(demo_at)
    return machine_time_zone()


def main() -> None:
    """Print the zone a process started now would choose, from TIME_ZONE and DASHBOARD_DEMO_AT."""
    print(hospital_time_zone(env_str("TIME_ZONE"), env_str("DASHBOARD_DEMO_AT")))


if __name__ == "__main__":
    main()
