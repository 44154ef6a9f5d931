"""A Redis failover under a stream of changes, with real processes on loopback ports.

A primary, one replica and three sentinels (Debian's redis-sentinel), two
dashboard instances and two listeners (one leads, one stands by), all on the
Sentinel configuration; dashboards subscribed over real sockets while the
simulator and the test write. The primary is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from metrics import store
from metrics.catalogue import LIVE_METRICS
from tests.ops.sockets import RecordingSocket, wait_for
from tests.recount import moments
from tests.sentinel_cluster import SentinelCluster
from tests.servers import ROOT, LiveServer, database_rows, free_port, manage

pytestmark = pytest.mark.slow

WITHIN = 15.0  # seconds after the kill


class Process:
    """A `manage.py` command in the background, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir) -> None:
        self.log_path = workdir / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=open(self.log_path, "w"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text()


class Listener(Process):
    def __init__(self, name: str, env: dict[str, str], workdir) -> None:
        self.metrics_port = free_port()
        super().__init__(
            name, ["watch_changes", "--metrics-port", str(self.metrics_port)], env, workdir
        )

    def active(self) -> bool:
        """`dashboard_listener_active` of this listener is 1 (it holds the lease and follows)."""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return False
        return re.search(r"^dashboard_listener_active 1\.0$", text, re.MULTILINE) is not None


class Admissions(threading.Thread):
    """Admits a patient every `interval` seconds (the simulator's hospital day may be quiet)."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        patients = store.get_database().patients
        departments = ["ER", "CARD", "ICU", "PED"]
        while not self.stopped.wait(self.interval):
            patients.insert_one(
                {
                    "departmentId": random.choice(departments),
                    "status": "admitted",
                    "isActive": True,
                    "registeredAt": dt.datetime.now(dt.UTC),
                }
            )

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class LeaderWatch(threading.Thread):
    """Samples how many listeners are active every 100 ms: (monotonic time, count)."""

    def __init__(self, listeners: list[Listener]) -> None:
        super().__init__(daemon=True)
        self.listeners = listeners
        self.stopped = threading.Event()
        self.samples: list[tuple[float, int]] = []

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            self.samples.append((time.monotonic(), sum(each.active() for each in self.listeners)))

    def settled_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the sample from which exactly one listener stays active."""
        after = [(at, count) for at, count in self.samples if at > moment]
        unsettled = [at for at, count in after if count != 1]
        if not after or after[-1][1] != 1:
            return None
        since = next(at for at, _ in after if not unsettled or at > unsettled[-1])
        return since - moment

    def most_at_once(self, moment: float) -> int:
        return max(count for at, count in self.samples if at > moment)


class CheckpointWatch(threading.Thread):
    """Reads the listener's checkpoint every 50 ms; `moved_back` if a position ever decreased."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.stopped = threading.Event()
        self.positions: list[str] = []

    def run(self) -> None:
        query = "SELECT resume_token FROM live_listenercheckpoint WHERE name = 'default'"
        while not self.stopped.wait(0.05):
            try:
                rows = database_rows(self.database_url, query)
            except Exception:
                continue
            token = rows[0][0] if rows else None
            token = json.loads(token) if isinstance(token, str) else token
            if token and (not self.positions or token["_data"] != self.positions[-1]):
                self.positions.append(token["_data"])

    @property
    def moved_back(self) -> bool:
        return any(b < a for a, b in zip(self.positions, self.positions[1:], strict=False))


@pytest.fixture
def cluster(tmp_path):
    cluster = SentinelCluster(tmp_path / "redis").start()
    yield cluster
    cluster.stop()


RECOUNT = "import json; from tests.recount import recount; print(json.dumps(recount({at!r})))"


def recount(env: dict[str, str], at: dict[str, str]) -> dict[str, dict]:
    """Every live metric computed from scratch on the store, with the servers' own database
    (acknowledgements), as JSON like the sockets receive it; those that move with time at the
    moments in `at` (tests/recount.py)."""
    code = RECOUNT.format(at=at)
    return json.loads(manage("shell", "-c", code, env=env).strip().splitlines()[-1])


async def test_the_primary_dies_and_every_dashboard_follows_the_promoted_replica(
    tmp_path, hospital_store, server_database_url, cluster
):
    env = {**cluster.env, "DASHBOARD_WORKERS": "1"}
    web1 = LiveServer.start(
        tmp_path / "web1",
        store_path=hospital_store,
        env=env,
        listener="off",
        database_url=server_database_url,
    )
    web1.seed("--patients", "200", "--seed", "3")
    web2 = LiveServer.start(
        tmp_path / "web2",
        store_path=hospital_store,
        env=env,
        listener="off",
        database_url=server_database_url,
        prepare=False,
    )
    listeners = [Listener(f"listener-{n}", web1.env, tmp_path) for n in (1, 2)]
    simulator = Process(
        "simulator", ["simulate", "--rate", "20", "--seed", "4"], web1.env, tmp_path
    )
    admissions = Admissions()
    admissions.start()
    checkpoints = CheckpointWatch(server_database_url)
    checkpoints.start()
    leaders = LeaderWatch(listeners)
    sockets = []
    try:
        assert await wait_for(lambda: sum(each.active() for each in listeners) == 1, 30)
        leaders.start()
        for server in (web1, web2):
            token = await asyncio.to_thread(server.token, "superadmin")
            sockets.append(RecordingSocket(server, token).start())
        for socket in sockets:
            await socket.ready.wait()
        assert await wait_for(lambda: all(len(s.updates()) > 12 for s in sockets), 30)

        killed = time.monotonic()
        cluster.primary.kill()
        # Replication is asynchronous: the lease may not have reached the replica. Make it so
        # as soon as the replica is promoted, so that a standby may take the lease while the
        # old holder still leads.
        assert await wait_for(lambda: cluster.master_port() == cluster.replica.port, WITHIN)
        promoted = time.monotonic() - killed
        await asyncio.to_thread(cluster.forget, "dashboard:listener:lease")

        def recovered_and_fresh(socket: RecordingSocket) -> bool:
            recovered = socket.first_status("recovered", killed)
            return recovered is not None and bool(socket.updates(recovered))

        assert await wait_for(lambda: all(map(recovered_and_fresh, sockets)), WITHIN), [
            [(round(at - killed, 2), m["status"], m.get("detail")) for at, m in s.statuses()]
            for s in sockets
        ]
        await asyncio.sleep(max(0.0, killed + WITHIN - time.monotonic()))
        leading_at = leaders.settled_after(killed)
        assert leading_at is not None and leading_at <= WITHIN, leaders.samples[-50:]
        # Logins keep working on the promoted replica, and no request failed.
        assert await asyncio.to_thread(web2.token, "admin")

        figures = {
            "first update after the kill (s)": [
                round(s.updates(killed)[0][0] - killed, 2) for s in sockets
            ],
            "recovered after the kill (s)": [
                round(s.first_status("recovered", killed) - killed, 2) for s in sockets
            ],
            "first update after recovered (s)": [
                round(s.updates(s.first_status("recovered", killed))[0][0] - killed, 2)
                for s in sockets
            ],
            "replica promoted (s)": round(promoted, 2),
            "exactly one listener active from (s)": round(leading_at, 2),
            "most listeners active at once": leaders.most_at_once(killed),
        }
        print(f"\nfailover figures: {figures}")

        simulator.stop()
        await asyncio.to_thread(admissions.stop)
        # A metric that moves with time is recounted when the value the sockets hold was
        # built; a tick may move it on meanwhile, so the recount follows the sockets.
        deadline = time.monotonic() + 20
        while True:
            at = moments(sockets[0].latest_updates())
            expected = await asyncio.to_thread(recount, web1.env, at)
            converged = all(s.latest() == expected for s in sockets)
            if converged or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert converged, {
            metric: [s.latest().get(metric) for s in sockets]
            for metric in LIVE_METRICS
            if any(s.latest().get(metric) != expected[metric] for s in sockets)
        }
        assert leaders.settled_after(killed) == leading_at  # still the one since
        for socket in sockets:
            assert not socket.versions_gone_back()
            assert not socket.errors()
            await socket.close()
    finally:
        checkpoints.stopped.set()
        leaders.stopped.set()
        admissions.stopped.set()
        simulator.stop()
        for process in (web1, web2, *listeners):
            process.stop()
    assert len(checkpoints.positions) > 2 and not checkpoints.moved_back
    for process in (web1, web2, *listeners, simulator):
        assert "Traceback" not in process.log(), process.log()[-5000:]
