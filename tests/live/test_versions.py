"""A value's version is the database position of the state it reflects, whoever computed it:
the listener, the clusterTime of the last change it folded; a computation from MongoDB, the
position read before its reads. So versions of every producer compare as the writes they
reflect do, on the server and in a JavaScript client."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import shutil
import subprocess

import pytest
import websockets
from channels.db import database_sync_to_async

from metrics import store
from metrics.selectors import refresh_live_value
from metrics.versions import LIMIT, version_of
from tests.servers import LiveServer

from .conftest import authenticated
from .test_listener import expect_recount, patient

pytestmark = pytest.mark.django_db(transaction=True)


def written(collection: str, document: dict) -> int:
    """Insert `document`; the write's position (its session's operation time) as a version."""
    db = store.get_database()
    with db.client.start_session() as session:
        db[collection].insert_one(document, session=session)
        return version_of(session.operation_time)


async def test_listener_values_carry_their_last_change_and_read_throughs_fit_between(
    make_user, listeners
):
    listener = await listeners()
    user = await database_sync_to_async(make_user)("versions", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    await client.receive_json_from()

    first = written("patients", patient())
    update = await expect_recount(client, "patientCount")
    assert update["version"] == first == listener.maintained.position

    # A change the metric ignores still moves the state the next value is built from.
    staff = written("staff", {"departmentId": "ER", "status": "on_duty", "isActive": True})
    async with asyncio.timeout(5):
        while listener.maintained.position != staff:
            await asyncio.sleep(0.02)

    # Computed from MongoDB: the position before its reads, no earlier than the writes it holds.
    read_through, _ = await asyncio.to_thread(refresh_live_value, "patientCount")
    assert read_through.version >= staff > first

    later = written("patients", patient("CARD"))
    update = await expect_recount(client, "patientCount")
    assert read_through.version < later == update["version"]
    assert update["version"] < LIMIT
    await client.disconnect()


async def test_the_same_version_with_other_contents_reaches_the_socket(
    make_user, hospital_db, fresh_hub
):
    """The same database state computed again later (time passed, an acknowledgement merged in)
    has the same version: it is sent when its contents differ; an older version never is."""
    hospital_db.patients.insert_one(patient())
    user = await database_sync_to_async(make_user)("equal", "super_admin")
    client = await authenticated(user)
    await client.send_json_to({"type": "subscribe_metrics", "metrics": ["patientCount"]})
    await client.receive_json_from()
    current = await client.receive_json_from()
    base, _ = await asyncio.to_thread(refresh_live_value, "patientCount")
    assert base.version == current["version"]  # nothing written since: the same position
    moved = {"departments": {"ER": 4}, "unassigned": None}
    fresh_hub.dispatch([dataclasses.replace(base, data=moved)])
    update = await client.receive_json_from()
    assert (update["version"], update["data"]["total"]) == (current["version"], 4)
    fresh_hub.dispatch([dataclasses.replace(base, version=base.version - 1)])  # older: dropped
    await client.send_json_to({"type": "ping"})
    assert (await client.receive_json_from())["type"] == "pong"
    await client.disconnect()


# A client's rule, in JavaScript: keep a value whose version is >= the one held.
CLIENT = """
const frames = JSON.parse(require("fs").readFileSync(0, "utf8")).map((text) => JSON.parse(text));
let held = null;
const kept = frames.map((frame) => {
  if (held === null || frame.version >= held.version) held = frame;
  return held === frame;
});
console.log(JSON.stringify({
  versions: frames.map((frame) => String(frame.version)),
  safe: frames.every((frame) => Number.isSafeInteger(frame.version)),
  ascending: frames.slice(1).map((frame, i) => frames[i].version <= frame.version),
  kept,
}));
"""


def emergency() -> dict:
    now = dt.datetime.now(dt.UTC)
    return {
        "patientId": "p",
        "departmentId": "ER",
        "stage": "triage",
        "priority": "emergency",
        "startedAt": now,
        "updatedAt": now,
        "isActive": True,
    }


@pytest.mark.slow
async def test_versions_of_the_listener_and_of_a_read_through_compare_in_javascript(
    tmp_path, hospital_store
):
    """Over a real server: the listener's value of a write, the acknowledgement's value read
    through from MongoDB, then the listener's value of a later write, compared by a JavaScript
    client as it receives them."""
    node = shutil.which("node")
    assert node, "Node.js is needed to check versions as a browser reads them"
    server = LiveServer.start(tmp_path / "server", store_path=hospital_store)
    try:
        token = await asyncio.to_thread(server.token, "superadmin")
        async with websockets.connect(server.ws_url, origin=server.url) as ws:
            await ws.send(json.dumps({"type": "authenticate", "token": token}))
            frames = Frames(ws)
            await frames.until(lambda m: m["type"] == "authenticated")
            await ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["emergencyAlerts"]}))
            await frames.until(lambda m: m["type"] == "dashboard_update")

            first = await asyncio.to_thread(written, "workflows", emergency())
            listened = await frames.alerts(lambda m: m["version"] >= first)
            alert = json.loads(listened)["data"]["alerts"][0]["id"]
            await ws.send(json.dumps({"type": "acknowledge_alert", "alertId": alert}))
            read_through = await frames.alerts(
                lambda m: m["data"]["alerts"][0].get("acknowledgedBy") == "superadmin"
            )
            later = await asyncio.to_thread(written, "workflows", emergency())
            after = await frames.alerts(lambda m: m["version"] >= later)
    finally:
        server.stop()

    texts = [listened, read_through, after]
    result = subprocess.run(
        [node, "-e", CLIENT], input=json.dumps(texts), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    exact = [str(json.loads(text)["version"]) for text in texts]
    assert seen["versions"] == exact and seen["safe"]  # read exactly, as Python sent them
    assert seen["ascending"] == [True, True] and seen["kept"] == [True, True, True]
    assert int(exact[0]) == first and int(exact[2]) == later
    assert first <= int(exact[1]) < later  # the acknowledgement: computed between the writes


class Frames:
    """The raw text frames of one socket, read until one matches."""

    def __init__(self, ws) -> None:
        self.ws = ws

    async def until(self, predicate, timeout: float = 10.0) -> str:
        async with asyncio.timeout(timeout):
            while True:
                text = await self.ws.recv()
                if predicate(json.loads(text)):
                    return text

    async def alerts(self, predicate) -> str:
        """The next emergencyAlerts update that matches."""
        return await self.until(
            lambda m: (
                m["type"] == "dashboard_update"
                and m["metric"] == "emergencyAlerts"
                and m["data"]["alerts"]
                and predicate(m)
            )
        )
