"""`python -m bench.pulse`: what the demo shows at any local hour, measured on a socket.

For each local hour asked (default 03:00, 09:00, 14:00 and 22:00), in a
fresh directory: `seed_demo` at the default size, then `serve --simulate 5
--listener on` as `make run` does, with `DASHBOARD_DEMO_AT` set to the hour
and the zone it asks for chosen once, as `make run` chooses it (so the seed,
the server, the listener and the simulator live at that local hour, the
machine's clock untouched). A socket signed in as the demo super admin
subscribes to every live metric; after a settling time, every update it
receives is recorded. The hours run side by side.

Printed (and written to `--output` as JSON): per hour, updates per minute of
each metric and the longest gap between two, the same for any metric at all,
and the plausibility figures (`simulator.plausibility`) read from the
hospital store at the end.

    .venv/bin/python -m bench.pulse --minutes 2
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from .load.procs import PYTHON, ROOT, free_port, manage

HOURS = (3, 9, 14, 22)
DEMO_LOGIN = ("superadmin", "superadmin-demo")
REAUTHENTICATE_SECONDS = 200  # access tokens live five minutes by default
_SCRUBBED = ("DJANGO_", "REDIS_", "MONGODB_", "DATABASE_", "DASHBOARD_", "EMBEDDED_", "TIME_ZONE")


@dataclass
class HourPulse:
    hour: int
    zone: str = ""
    local_start: str = ""
    seconds: float = 0.0
    # Seconds (since the measurement began) of each update received, by metric.
    updates: dict[str, list[float]] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)

    def per_minute(self, metric: str | None = None) -> float:
        return len(self._times(metric)) / (self.seconds / 60) if self.seconds else 0.0

    def longest_gap(self, metric: str | None = None) -> float:
        """The longest stretch without an update, the measurement's edges included."""
        return self._gap(metric)[1]

    def _gap(self, metric: str | None) -> tuple[float, float]:
        """(where the longest gap starts, its length) in seconds."""
        times = [0.0, *self._times(metric), self.seconds]
        return max(((a, b - a) for a, b in zip(times, times[1:], strict=False)), key=lambda g: g[1])

    def _times(self, metric: str | None) -> list[float]:
        if metric is not None:
            return self.updates.get(metric, [])
        return sorted(t for times in self.updates.values() for t in times)

    def summary(self) -> dict:
        metrics = sorted(self.updates)
        return {
            "hour": f"{self.hour:02d}:00",
            "zone": self.zone,
            "localStart": self.local_start,
            "seconds": round(self.seconds, 1),
            "anyMetric": {
                "perMinute": round(self.per_minute(), 1),
                "longestGapSeconds": round(self.longest_gap(), 1),
                "longestGapFrom": round(self._gap(None)[0], 1),
            },
            "byMetric": {
                name: {
                    "perMinute": round(self.per_minute(name), 1),
                    "longestGapSeconds": round(self.longest_gap(name), 1),
                }
                for name in metrics
            },
            "figures": self.figures,
        }


def environment(workdir: Path, hour: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        {
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{workdir / 'dashboard.sqlite3'}",
            "EMBEDDED_STORE_PATH": str(workdir / "hospital.sqlite3"),
            "DASHBOARD_VAR_DIR": str(workdir / "var"),
            "DASHBOARD_DEMO_AT": f"{hour:02d}:00",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def measure_hour(
    hour: int,
    workdir: Path,
    *,
    seconds: float,
    settle: float = 20.0,
    rate: float = 5.0,
    pace: float = 1.0,
    patients: int | None = None,
) -> HourPulse:
    """Seed, serve and simulate at local `hour` in `workdir`; record a socket for `seconds`."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = environment(workdir, hour)
    pulse = HourPulse(hour=hour)
    pulse.zone, pulse.local_start = _choose_zone(env)
    env["TIME_ZONE"] = pulse.zone
    manage("migrate", "--noinput", env=env)
    manage("create_demo_users", env=env)
    manage("seed_demo", *(("--patients", str(patients)) if patients else ()), env=env)
    port = free_port()
    log = open(workdir / "server.log", "w")
    serve = [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    simulate = ["--simulate", str(rate), "--pace", str(pace), "--listener", "on"]
    process = subprocess.Popen(
        [*serve, *simulate], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_live(url, process, workdir)
        asyncio.run(_record(url, _login(url), pulse, seconds=seconds, settle=settle))
        pulse.figures = _figures(env)
        return pulse
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_live(url: str, process: subprocess.Popen, workdir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / "server.log").read_text()[-3000:])
        try:
            with urllib.request.urlopen(url + "/health/live/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not start in {timeout} s")


def _login(url: str) -> str:
    username, password = DEMO_LOGIN
    request = urllib.request.Request(
        url + "/api/auth/token/",
        method="POST",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access"]


async def _record(url: str, token: str, pulse: HourPulse, *, seconds: float, settle: float) -> None:
    import websockets

    from metrics.catalogue import LIVE_METRICS

    ws_url = url.replace("http://", "ws://") + "/ws/dashboard/"
    async with websockets.connect(ws_url, origin=url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "authenticate", "token": token}))
        await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": list(LIVE_METRICS)}))
        signed_in = time.monotonic()
        began = time.monotonic() + settle  # the first values and the listener's start-up first
        ends = began + seconds
        while (left := ends - time.monotonic()) > 0:
            try:
                frame = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            message = json.loads(frame)
            at = time.monotonic() - began
            if time.monotonic() - signed_in > REAUTHENTICATE_SECONDS:  # before the token expires
                await ws.send(json.dumps({"type": "authenticate", "token": _login(url)}))
                signed_in = time.monotonic()
            if message.get("type") != "dashboard_update" or at < 0:
                continue
            pulse.updates.setdefault(message["metric"], []).append(round(at, 3))
        pulse.seconds = seconds


def _choose_zone(env: dict[str, str]) -> tuple[str, str]:
    """The zone `make run` chooses once for the seed and the server (`python -m
    dashboard_project.time_zone`), and the local clock (HH:MM) in it then. Every command of the
    hour gets it as TIME_ZONE, so the seeded history, the server and the figures read at the end
    share one zone even when the hour turns during the measurement."""
    chosen = subprocess.run(
        [PYTHON, "-m", "dashboard_project.time_zone"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    zone = chosen.stdout.strip()
    return zone, dt.datetime.now(ZoneInfo(zone)).strftime("%H:%M")


def _figures(env: dict[str, str]) -> dict[str, float]:
    script = (
        "import json;from django.utils import timezone;from metrics.store import get_database;"
        "from simulator.plausibility import figures;"
        "print(json.dumps(figures(get_database(), timezone.localtime())))"
    )
    return json.loads(manage("shell", "-c", script, env=env).strip().splitlines()[-1])


def measure(hours: tuple[int, ...], workdir: Path, **options) -> list[HourPulse]:
    """Every hour side by side, each in its own directory."""
    with concurrent.futures.ThreadPoolExecutor(len(hours)) as pool:
        futures = [
            pool.submit(measure_hour, hour, workdir / f"hour-{hour:02d}", **options)
            for hour in hours
        ]
        return [future.result() for future in futures]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", default=",".join(map(str, HOURS)), help="local hours, 0-23")
    parser.add_argument("--minutes", type=float, default=2.0, help="recorded per hour")
    parser.add_argument("--pace", type=float, default=1.0, help="the simulator's --pace")
    parser.add_argument("--rate", type=float, default=5.0, help="the simulator's --rate")
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON here")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()  # the metric catalogue comes from the settings
    hours = tuple(int(hour) for hour in options.hours.split(","))
    with tempfile.TemporaryDirectory(prefix="pulse-") as workdir:
        pulses = measure(
            hours,
            Path(workdir),
            seconds=options.minutes * 60,
            rate=options.rate,
            pace=options.pace,
        )
    report = {
        "measuredAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "pace": options.pace,
        "rate": options.rate,
        "hours": [pulse.summary() for pulse in pulses],
    }
    text = json.dumps(report, indent=2)
    print(text)
    if options.output:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
