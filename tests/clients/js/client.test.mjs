// The JavaScript client against a real server (daphne or uvicorn, started by
// tests/clients/test_js_client.py): signing in, subscriptions and batched updates, token renewals
// on the open socket, another user's token, acknowledgements past the rate limit, and the
// README's dashboard run as it is written.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { SERVER, control, dashboardClient, displayToken, login, next } from "./helpers.mjs";

const ADMIN_SCOPE = "CARD,ER"; // the demo admin's departments

test("signs in, subscribes and follows updates in batch frames, versions never going down", async () => {
  const client = dashboardClient({ getToken: () => login("admin"), metrics: ["patientCount", "emergencyAlerts"] });
  const frames = [];
  const versions = [];
  client.on("message", (message) => frames.push(message.type));
  client.on("update", (value, previous) => versions.push([value.version, previous?.version ?? -1]));
  const first = next(client, "update", (value) => value.metric === "patientCount");
  client.start();
  try {
    const { data } = await first;
    assert.equal(client.status, "live");
    assert.equal(data.total, (await control(`/patients?departments=${ADMIN_SCOPE}`)).total);
    assert.deepEqual(client.access.departments, ["CARD", "ER"]);
    assert.deepEqual([...client.subscribed].sort(), ["emergencyAlerts", "patientCount"]);

    const admitted = next(client, "update", (value) => value.metric === "patientCount" && value.data.total === data.total + 1);
    await control("/admit", { department: "ER" });
    await admitted;
    assert.ok(frames.includes("dashboard_updates"), "updates come in batch frames");
    assert.ok(!frames.includes("dashboard_update"), "and only in batch frames (the client asked for them)");
    assert.ok(!frames.includes("authenticate"), "signed in by the handshake's ticket");
    for (const [version, before] of versions) assert.ok(version >= before, `${version} after ${before}`);
  } finally {
    client.stop();
  }
});

test("renews a display's token on the open socket: the subscription stays, no update is missed; another user's token changes nothing", async () => {
  let getToken = displayToken; // tokens of 3 s (DASHBOARD_DISPLAY_TOKEN_MINUTES in the pytest test)
  const client = dashboardClient({ getToken: (context) => getToken(context), metrics: ["patientCount"] });
  const statuses = [];
  let renewals = -1; // the first `authenticated` is the sign-in
  client.on("status", ({ status }) => statuses.push(status));
  client.on("message", (message) => {
    if (message.type === "authenticated") renewals += 1;
  });
  const first = next(client, "update", (value) => value.metric === "patientCount");
  client.start();
  try {
    let { total } = (await first).data;
    assert.equal(client.access.kind, "display");
    // One admission after another, each seen before the next, across at least three renewals.
    for (let admitted = 0; admitted < 4 || renewals < 3; admitted += 1) {
      const seen = next(client, "update", (value) => value.data.total === total + 1, 5_000);
      await control("/admit", { department: "ER" });
      total = (await seen).data.total;
    }
    assert.deepEqual(statuses, ["connecting", "live"], "one socket, live throughout");
    assert.deepEqual([...client.subscribed], ["patientCount"]);

    // The demo admin's token on the display's socket: refused, and the socket stays as it was.
    getToken = () => login("admin");
    const refused = next(client, "error");
    client.authenticate();
    const error = await refused;
    assert.equal(error.code, "different_user");
    assert.equal(error.request.token, undefined, "the refused token is not handed around");
    assert.equal(client.status, "live");
    assert.equal(client.access.kind, "display");
    assert.deepEqual(client.access.departments, ["ER"]);
    assert.deepEqual([...client.subscribed], ["patientCount"]);
    const seen = next(client, "update", (value) => value.data.total === total + 1, 5_000);
    await control("/admit", { department: "ER" });
    await seen;

    // Its own tokens again: the next renewal goes through on the same socket.
    getToken = displayToken;
    await next(client, "message", (message) => message.type === "authenticated");
    assert.deepEqual(statuses, ["connecting", "live"]);
  } finally {
    client.stop();
  }
});

test("acknowledgements sent faster than the server allows are sent again and all confirmed", async () => {
  const ids = [];
  for (let i = 0; i < 12; i += 1) ids.push((await control("/emergency", { department: "ER" })).id);
  // A client tuned past the server's limit (60 a minute, bursts of 10): the server refuses some.
  const client = dashboardClient({ getToken: () => login("admin"), metrics: ["emergencyAlerts"], burst: 20, refillMs: 1_000 });
  const refusals = [];
  client.on("message", (message) => message.code === "rate_limited" && refusals.push(message));
  const live = next(client, "status", ({ status }) => status === "live");
  client.start();
  try {
    await live;
    const replies = await Promise.all(ids.map((id) => client.acknowledge(id)));
    assert.ok(refusals.length > 0, "the server refused some at first");
    assert.deepEqual(replies.map((reply) => reply.alertId), ids);
    assert.ok(replies.every((reply) => reply.acknowledgedBy === "admin"));
    assert.equal(client.status, "live");
  } finally {
    client.stop();
  }
});

test("the README's dashboard, run as written, prints the patients and an emergency", async () => {
  const readme = await readFile(new URL("../../../clients/js/README.md", import.meta.url), "utf8");
  const code = readme.match(/```js\n([\s\S]*?)```/)[1];
  assert.ok(code.trim().split("\n").length < 30, "under 30 lines");
  // As its reader would run it: `ws` and this library installed beside it.
  const directory = await mkdtemp(join(tmpdir(), "dashboard-readme-"));
  await mkdir(join(directory, "node_modules"));
  await symlink(join(process.env.NODE_PATH, "ws"), join(directory, "node_modules", "ws"));
  await symlink(fileURLToPath(new URL("../../../clients/js", import.meta.url)), join(directory, "node_modules", "hospital-dashboard-client"));
  await writeFile(join(directory, "dashboard.mjs"), code);
  const child = spawn(process.execPath, ["dashboard.mjs"], {
    cwd: directory,
    env: { ...process.env, DASHBOARD_URL: SERVER, DASHBOARD_USER: "admin", DASHBOARD_PASSWORD: "admin-demo" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const printed = [];
  const line = async (pattern) => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the example ended; it printed:\n${printed.join("\n")}`);
      printed.push(value);
      if (pattern.test(value)) return value;
    }
  };
  try {
    const { total } = await control(`/patients?departments=${ADMIN_SCOPE}`);
    assert.equal(await line(/^signed in/), "signed in as admin (admin of CARD, ER)");
    assert.equal(await line(/^patients/), `patients in care: ${total}`);
    await control("/admit", { department: "CARD" });
    assert.equal(await line(/^patients/), `patients in care: ${total + 1}`);
    const { id } = await control("/emergency", { department: "ER" });
    assert.equal(await line(new RegExp(id)), `new emergency in ER: ${id}`);
    assert.ok(printed.includes("live"), printed.join("\n"));
  } finally {
    child.kill();
  }
});
