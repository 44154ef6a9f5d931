// The page: sign-in, then the live dashboard over one WebSocket.

import { Connection } from "./connection.js";
import { byId, formatClock } from "./dom.js";
import { History } from "./history.js";
import { Session } from "./session.js";
import { Tiles } from "./tiles.js";

const LEVELS = { super_admin: "Super admin", admin: "Admin", viewer: "Viewer" };
const SESSION_ENDED = {
  expired: "Your session has ended. Sign in again to continue.",
  invalid_token: "Your session is no longer valid. Sign in again to continue.",
  user_inactive: "This account has been deactivated.",
  no_dashboard_access: "This account has no dashboard access.",
  access_revoked: "Your dashboard access has changed. Sign in again to continue.",
};
const STATES = {
  connecting: { label: "Connecting", detail: "Opening the live connection…" },
  connected: { label: "Live", detail: "Values update as they change." },
  degraded: { label: "Degraded", detail: "Updates may be slower than usual." },
  stale: { label: "Stale", detail: "The hospital database is not answering; values may be out of date." },
  reconnecting: { label: "Reconnecting", detail: "" },
  offline: { label: "Offline", detail: "The live connection is closed." },
};

const ui = {
  loginView: byId("login-view"),
  loginForm: byId("login-form"),
  loginError: byId("login-error"),
  loginButton: byId("login-submit"),
  username: byId("username"),
  password: byId("password"),
  dashboard: byId("dashboard-view"),
  account: byId("account"),
  userName: byId("user-name"),
  userLevel: byId("user-level"),
  userDepartments: byId("user-departments"),
  logout: byId("logout"),
  connection: byId("connection"),
  connectionLabel: byId("connection-label"),
  connectionDetail: byId("connection-detail"),
  retry: byId("retry"),
  notice: byId("notice"),
  tiles: byId("tiles"),
};

const state = { user: null, level: null, departments: [], metrics: [], invalidTokens: 0, currency: "USD" };

const session = new Session({
  onRefreshed: () => connection.reauthenticate(),
  onEnded: (reason) => signedOut(SESSION_ENDED[reason] || SESSION_ENDED.expired),
});

const connection = new Connection({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/dashboard/`,
  token: async () => {
    if (session.accessExpiring()) await session.refresh();
    return session.access;
  },
  handlers: {
    onState: showConnection,
    onAuthenticated: authenticated,
    onMessage: received,
    onAuthProblem: authProblem,
  },
});

const tiles = new Tiles(ui.tiles, {
  mayAct: () => state.level === "super_admin" || state.level === "admin",
  send: (message) => connection.send(message),
});

const history = new History({
  send: (message) => connection.send(message),
  currency: () => state.currency,
});

// --- signing in and out ----------------------------------------------------------------------
ui.loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (!username || !password) {
    loginError("Enter your username and password.");
    (username ? ui.password : ui.username).focus();
    return;
  }
  ui.loginButton.disabled = true;
  ui.loginButton.textContent = "Signing in…";
  loginError(null);
  try {
    await session.login(username, password);
    ui.password.value = "";
    showDashboard();
  } catch (error) {
    loginError(error.message);
    ui.password.select();
    ui.password.focus();
  } finally {
    ui.loginButton.disabled = false;
    ui.loginButton.textContent = "Sign in";
  }
});

ui.logout.addEventListener("click", async () => {
  ui.logout.disabled = true;
  connection.stop();
  await session.logout();
  ui.logout.disabled = false;
  signedOut("You have signed out.", false);
});

ui.retry.addEventListener("click", () => connection.retry());
window.addEventListener("online", () => {
  if (connection.state === "offline" && session.active) connection.retry();
});

function loginError(text, tone = "error") {
  ui.loginError.hidden = !text;
  ui.loginError.textContent = text || "";
  ui.loginError.className = tone === "info" ? "form-message form-message-info" : "form-message";
}

function showDashboard() {
  ui.loginView.hidden = true;
  ui.dashboard.hidden = false;
  ui.connection.hidden = false;
  document.title = "Hospital operations · Live";
  connection.start();
}

function signedOut(message, isProblem = true) {
  connection.stop();
  history.stop();
  session.forget();
  tiles.reset();
  Object.assign(state, { user: null, level: null, departments: [], metrics: [], invalidTokens: 0 });
  ui.dashboard.hidden = true;
  ui.account.hidden = true;
  ui.connection.hidden = true;
  ui.loginView.hidden = false;
  document.title = "Hospital operations · Sign in";
  loginError(message, isProblem ? "error" : "info");
  ui.username.focus();
}

// --- the socket's messages -------------------------------------------------------------------
function authenticated(message, fresh) {
  state.invalidTokens = 0;
  state.user = message.user;
  state.level = message.level;
  state.departments = message.departments || [];
  const metrics = Array.isArray(message.metrics) ? message.metrics : [];
  const added = metrics.filter((m) => !state.metrics.includes(m));
  state.metrics = metrics;
  showAccount();
  tiles.show(metrics);
  notice(null);
  // A new socket starts empty: subscribe to everything, then make the values whole.
  const subscribe = fresh ? metrics : added;
  if (subscribe.length) connection.send({ type: "subscribe_metrics", metrics: subscribe });
  if (fresh) {
    tiles.reconnected();
    connection.send({ type: "request_snapshot" });
    history.request();
  }
}

function received(message, request) {
  switch (message.type) {
    case "dashboard_update":
      remember(message.metric, message.data);
      tiles.update(message.metric, message);
      break;
    case "metrics_snapshot":
      for (const [metric, value] of Object.entries(message.metrics || {})) {
        remember(metric, value && value.data);
        tiles.update(metric, value);
      }
      break;
    case "subscriptions":
      // The server's word on what this user gets (access can change while connected).
      tiles.show(state.metrics.filter((m) => (message.metrics || []).includes(m)));
      break;
    case "historical_data":
      if (history.received(message, request)) tiles.redraw();
      break;
    case "alert_acknowledged": {
      const tile = tiles.get("emergencyAlerts");
      if (tile) tile.acknowledged(message);
      break;
    }
    case "error":
      failed(message, request);
      break;
    default:
      break;
  }
}

function failed(message, request) {
  const type = request && request.type;
  if (type === "request_historical") {
    history.failed(message, request);
  } else if (type === "acknowledge_alert") {
    const tile = tiles.get("emergencyAlerts");
    const text = message.code === "alert_not_found"
      ? "That alert is already resolved."
      : message.code === "forbidden"
        ? "You may not acknowledge that alert."
        : message.message || "The alert could not be acknowledged.";
    if (tile) tile.failed(request.alertId, text);
  } else if (message.code === "metrics_unavailable") {
    notice("Some values cannot be loaded right now; they will fill in when the data source answers.");
  } else if (message.code !== "unknown_metric" && message.code !== "forbidden") {
    notice(message.message || "The server could not handle a request.");
  }
}

function remember(metric, data) {
  if (metric === "revenue" && data && data.currency) state.currency = data.currency;
}

function authProblem(reason) {
  if (reason === "token_expired") {
    session.refresh().catch(() => {});
  } else if (reason === "invalid_token") {
    state.invalidTokens += 1;
    if (state.invalidTokens > 1) signedOut(SESSION_ENDED.invalid_token);
    else session.refresh().catch(() => {});
  } else {
    signedOut(SESSION_ENDED[reason] || SESSION_ENDED.access_revoked);
  }
}

// --- what the person sees of the connection and the account ----------------------------------
let countdown = null;

function showConnection({ state: current, detail, attempt, attempts, nextRetryAt }) {
  const info = STATES[current] || STATES.offline;
  ui.connection.dataset.state = current;
  ui.connectionLabel.textContent = info.label;
  ui.retry.hidden = current !== "offline" || !session.active;
  clearInterval(countdown);
  let text = info.detail;
  if (current === "connected" && detail === "recovered") text = "Back to normal.";
  else if (detail && current !== "connected") text = `${info.detail} (${detail})`;
  if (current === "reconnecting") {
    const describe = () => {
      const seconds = nextRetryAt ? Math.max(0, Math.ceil((nextRetryAt - Date.now()) / 1000)) : 0;
      ui.connectionDetail.textContent = seconds > 0
        ? `Connection lost. Attempt ${attempt} of ${attempts} in ${seconds} s.`
        : `Connection lost. Attempt ${attempt} of ${attempts}…`;
    };
    describe();
    countdown = setInterval(describe, 1_000);
    return;
  }
  if (current === "offline" && session.active) {
    text = `Could not reconnect after ${attempts} attempts. Values shown are from ${formatClock(new Date())} or earlier.`;
  }
  ui.connectionDetail.textContent = text;
  ui.connectionDetail.title = text;
}

function showAccount() {
  ui.account.hidden = false;
  ui.userName.textContent = state.user ? state.user.username : "";
  ui.userLevel.textContent = LEVELS[state.level] || state.level || "";
  ui.userLevel.dataset.level = state.level || "";
  const all = state.level === "super_admin" || (state.level === "viewer" && !state.departments.length);
  ui.userDepartments.textContent = all
    ? "All departments"
    : state.departments.length ? state.departments.join(", ") : "No departments";
}

function notice(text) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text || "";
}

// --- start -------------------------------------------------------------------------------------
if (session.restore()) {
  showDashboard();
} else {
  ui.username.focus();
}
