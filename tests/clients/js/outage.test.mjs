// A minute's outage, as a Node dashboard on the JavaScript client lives it: the pytest test that
// starts this one (tests/browser/test_outage.py) stops the server when told it is ready, starts
// it again on the same port a minute later, and says when it answered again.

import assert from "node:assert/strict";
import { test } from "node:test";
import { control, dashboardClient, next, sleep, tokensOf } from "./helpers.mjs";

const LIVE_WITHIN_MS = 5_000;

test("live within 5 s of the server's return after a minute down; an acknowledgement made offline is delivered", { timeout: 240_000 }, async () => {
  const client = dashboardClient({ getToken: tokensOf("admin"), metrics: ["patientCount", "emergencyAlerts"] });
  const statuses = [];
  client.on("status", (event) => statuses.push({ ...event, at: Date.now() }));
  const live = next(client, "status", ({ status }) => status === "live");
  client.start();
  try {
    await live;
    const { id } = await control("/emergency", { department: "ER" });
    const listed = () => client.value("emergencyAlerts")?.data.alerts.some((alert) => alert.id === id);
    if (!listed()) await next(client, "update", listed);

    const down = next(client, "status", ({ status }) => status !== "live", 60_000);
    await control("/ready"); // the server stops now
    await down;
    // Offline: the acknowledgement waits for the next socket; an admission happens meanwhile.
    let answered = false;
    const acknowledged = client.acknowledge(id);
    const settled = () => {
      answered = true;
    };
    acknowledged.then(settled, settled);
    const before = client.value("patientCount").data.total;
    await control("/admit", { department: "ER" });
    const back = next(client, "status", ({ status }) => status === "live", 180_000);
    await sleep(3_000);
    assert.equal(answered, false, "no answer while the server is down");

    const { at } = await control("/returned"); // when the server answered again
    await back;
    const liveAt = statuses.findLast(({ status }) => status === "live").at;
    console.log(`the Node client was live ${liveAt - at} ms after the server's return`);
    for (const { status, attempt, closeCode, at: when } of statuses) console.log(`  ${when - at} ms: ${status} (${attempt}, ${closeCode})`);
    assert.ok(liveAt - at <= LIVE_WITHIN_MS, `live ${liveAt - at} ms after the server's return`);
    assert.ok(statuses.some(({ status }) => status === "offline"), "offline after the quick retries");

    const reply = await acknowledged;
    assert.equal(reply.alertId, id);
    assert.equal(reply.acknowledgedBy, "admin");
    // Values whole again: the admission made while offline is counted (the page's test adds one).
    const counted = () => client.value("patientCount").data.total > before;
    if (!counted()) await next(client, "update", counted);
  } finally {
    client.stop();
  }
});
