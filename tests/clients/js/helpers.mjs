// What the Node tests share: the server and the hospital they run against (passed by the pytest
// test that started them: tests/clients/test_js_client.py, tests/browser/test_outage.py), and
// clients of the library signed in as the demo users or as a paired wall display.

import { createRequire } from "node:module";
import { DashboardClient, tokenExpiry } from "../../../clients/js/dashboard-client.js";

// The `ws` package `make typescript` installs in .venv/node (found through NODE_PATH).
export const WebSocket = createRequire(import.meta.url)("ws");
export const SERVER = process.env.DASHBOARD_URL;
const CONTROL = process.env.CONTROL_URL;
const PASSWORDS = { admin: "admin-demo", viewer: "viewer-demo", superadmin: "superadmin-demo" };

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** A fresh access token of a demo user, through the login endpoint. */
export async function login(username) {
  return (await post(`${SERVER}/api/auth/token/`, { username, password: PASSWORDS[username] })).access;
}

/** getToken for a client, as an application would write it: a demo user's token, signed in
 * again only when the client asks for a fresh one or it is about to expire. */
export function tokensOf(username) {
  let token = null;
  return async ({ renew }) => {
    if (!token || renew || tokenExpiry(token) - Date.now() < 30_000) token = await login(username);
    return token;
  };
}

/** A fresh access token of the display the pytest test paired. */
export async function displayToken() {
  const device = Number(process.env.DISPLAY_DEVICE);
  return (await post(`${SERVER}/api/auth/display/token/`, { device, secret: process.env.DISPLAY_SECRET })).access;
}

/** Ask the test that started this one (tests/clients/control.py). */
export async function control(path, body = null) {
  if (body) return post(`${CONTROL}${path}`, body);
  const response = await fetch(`${CONTROL}${path}`, { method: path === "/ready" ? "POST" : "GET" });
  return response.json();
}

export function dashboardClient(options) {
  return new DashboardClient({ url: SERVER, WebSocket, socketOptions: { origin: SERVER }, ...options });
}

/** The next `type` event whose arguments pass `test` (the first argument). */
export function next(client, type, test = () => true, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event as awaited within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(type, (...args) => {
      if (!test(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args[0]);
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
