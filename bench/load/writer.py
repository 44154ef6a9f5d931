"""The marker writer and the channel-layer probe (Django settings: dashboard_project.settings).

    python -m bench.load.writer prepare --staff N
    python -m bench.load.writer run --rate R --duration S --drain D --out PATH

Markers are changes in department "BENCH": a patient admitted there (critical
tier: patientCount) and a staff member there going on duty (standard tier:
staffActivity), R of each a second, through `metrics.store.get_database()`:
the same store file the listener watches. For each write it keeps the wall
time just before the write and the write's position in the database (its
session's operation time, as a version: metrics/versions.py). A metric
value's version is the position of the state it reflects, so the first value
whose version is at least a write's position is the first that reflects it,
whatever else changed the metric meanwhile (the simulator picks random
documents of every department, BENCH's included).

While writing, the probe listens on the metric groups of the channel layer,
as a server process's hub does, and notes when each (metric, version) got
there: the moment the listener's broadcast reached the servers' side.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
import uuid

BENCH_DEPARTMENT = "BENCH"
MARKER_METRICS = {"critical": "patientCount", "standard": "staffActivity"}
OFF_DUTY_FILTER = {"departmentId": BENCH_DEPARTMENT, "isActive": True, "status": "off_duty"}


def prepare(staff: int) -> None:
    """Staff in BENCH, off duty, for the runs to put on duty one by one."""
    from metrics.store import get_database

    now = dt.datetime.now(dt.UTC)
    documents = [
        {
            "name": f"Bench marker {n}",
            "role": "nurse",
            "departmentId": BENCH_DEPARTMENT,
            "status": "off_duty",
            "lastSeenAt": now,
            "isActive": True,
        }
        for n in range(staff)
    ]
    if documents:
        get_database().staff.insert_many(documents)
    print(f"prepared {staff} off-duty staff in {BENCH_DEPARTMENT}")


class Probe:
    """A member of the updates group, like a server process's hub."""

    def __init__(self) -> None:
        self.reached: dict[str, dict[str, float]] = {}
        self.channel: str | None = None

    async def start(self) -> None:
        from channels.layers import get_channel_layer

        from live.groups import UPDATES_GROUP

        layer = get_channel_layer()
        self.channel = await layer.new_channel("bench.probe.")
        await layer.group_add(UPDATES_GROUP, self.channel)

    async def listen(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        while True:
            message = await layer.receive(self.channel)
            moment = time.time()
            if message.get("type") == "metric.updates":
                for item in message["values"]:
                    self.reached.setdefault(item["metric"], {}).setdefault(
                        str(item["version"]), moment
                    )


def _write_patient(database, session) -> None:
    database.patients.insert_one(
        {
            "mrn": f"BENCH-{uuid.uuid4().hex[:12]}",
            "name": "Bench marker",
            "departmentId": BENCH_DEPARTMENT,
            "status": "admitted",
            "triageLevel": 3,
            "registeredAt": dt.datetime.now(dt.UTC),
            "isActive": True,
        },
        session=session,
    )


def _write_on_duty(database, session, off_duty: list) -> None:
    """Put one off-duty BENCH staff member on duty (skipping any the simulator moved)."""
    while off_duty:
        result = database.staff.update_one(
            {"_id": off_duty.pop(), "status": "off_duty", "isActive": True},
            {"$set": {"status": "on_duty", "lastSeenAt": dt.datetime.now(dt.UTC)}},
            session=session,
        )
        if result.modified_count:
            return
    raise RuntimeError("no off-duty BENCH staff left: prepare more")


def _written(write, database, *args) -> int:
    """Make one write in a session of its own; its position in the database, as a version."""
    from metrics.versions import version_of

    with database.client.start_session() as session:
        write(database, session, *args)
        return version_of(session.operation_time)


async def run(rate: float, duration: float, drain: float) -> dict:
    from metrics.store import get_database

    database = get_database()
    off_duty = [doc["_id"] for doc in database.staff.find(OFF_DUTY_FILTER, {"_id": 1})]
    count = int(rate * duration)
    if len(off_duty) < count:
        raise SystemExit(
            f"only {len(off_duty)} off-duty BENCH staff for {count} writes: prepare more"
        )
    probe = Probe()
    await probe.start()
    listening = asyncio.create_task(probe.listen())
    print("PROBING", flush=True)  # the runner starts its measured window now
    writes: dict[str, list[tuple[float, int]]] = {"critical": [], "standard": []}
    write_seconds: list[float] = []
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.5)  # the probe's subscriptions settle
    start = loop.time()
    for k in range(count):
        # Interleaved: a critical marker every 1/R s, a standard one half a period later.
        for tier, offset in (("critical", 0.0), ("standard", 0.5)):
            delay = start + (k + offset) / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            written_at = time.time()
            if tier == "critical":
                position = await asyncio.to_thread(_written, _write_patient, database)
            else:
                position = await asyncio.to_thread(_written, _write_on_duty, database, off_duty)
            writes[tier].append((written_at, position))
            write_seconds.append(time.time() - written_at)
    await asyncio.sleep(drain)
    listening.cancel()
    return {
        "markers": {
            tier: {"metric": MARKER_METRICS[tier], "writes": writes[tier]} for tier in writes
        },
        "write_ms": sorted(round(s * 1000, 2) for s in write_seconds),
        "sent": probe.reached,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare")
    prep.add_argument("--staff", type=int, required=True)
    go = sub.add_parser("run")
    go.add_argument("--rate", type=float, default=2.0)
    go.add_argument("--duration", type=float, required=True)
    go.add_argument("--drain", type=float, default=3.0)
    go.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    import django

    django.setup()
    if args.command == "prepare":
        prepare(args.staff)
        return
    result = asyncio.run(run(args.rate, args.duration, args.drain))
    with open(args.out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
