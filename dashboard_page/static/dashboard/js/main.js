// The page: sign-in, then the live dashboard over one WebSocket.

import { Connection } from "./connection.js";
import { forgetDepartments, limitTo } from "./departments.js";
import { byId } from "./dom.js";
import { DisplaySession, Pairing } from "./display.js";
import { History } from "./history.js";
import { IdleWatch, describeLimit } from "./idle.js";
import { finishSignIn, providerConfig, refreshAtProvider, startSignIn } from "./oidc.js";
import { Session } from "./session.js";
import { describe } from "./status.js";
import { Tiles } from "./tiles.js";

const LEVELS = { super_admin: "Super admin", admin: "Admin", viewer: "Viewer" };
const SESSION_ENDED = {
  expired: "Your session has ended. Sign in again to continue.",
  invalid_token: "Your session is no longer valid. Sign in again to continue.",
  user_inactive: "This account has been deactivated.",
  no_dashboard_access: "This account has no dashboard access.",
  access_revoked: "Your dashboard access has changed. Sign in again to continue.",
};
// A wall display (/display/) pairs instead of signing in (docs/sign-in.md).
const DISPLAY = document.body.dataset.mode === "display";
const DISPLAY_ENDED = {
  display_revoked: "This display was revoked or paired again elsewhere. Pair it again to continue.",
  credential_expired: "This display was unused too long. Pair it again to continue.",
  access_revoked: "This display was revoked. Pair it again to continue.",
};
const TITLE = "Hospital operations";
// Single sign-on through the hospital's provider, and whether local accounts sign in too.
const PROVIDER = DISPLAY ? null : providerConfig();
const LOCAL_ACCOUNTS = document.body.dataset.localAccounts !== "false";

const ui = Object.fromEntries([
  "login-view", "login-form", "login-error", "login-submit", "username", "password", "dashboard-view",
  "account", "user-name", "user-level", "user-departments", "logout", "connection", "connection-label",
  "connection-detail", "retry", "notice", "tiles", "emergencies", "topbar", "pairing-view", "pairing-code",
  "pairing-expiry", "pairing-error", "sso-submit", "login-or", "local-fields",
].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), byId(id)]));

const state = { user: null, kind: null, level: null, departments: [], metrics: [], invalidTokens: 0, currency: "USD" };
// Displays never act, whatever they see.
const mayAct = () => !DISPLAY && state.kind !== "display" && (state.level === "super_admin" || state.level === "admin");
let status = { live: false, blocked: true };
let notLiveSince = null;
let countdown = null;

const session = DISPLAY
  ? new DisplaySession({
    onRefreshed: () => connection.reauthenticate(),
    onEnded: (reason) => signedOut(DISPLAY_ENDED[reason] || DISPLAY_ENDED.display_revoked),
  })
  : new Session({
    onRefreshed: () => connection.reauthenticate(),
    onEnded: (reason) => signedOut(SESSION_ENDED[reason] || SESSION_ENDED.expired),
    renewAtProvider: PROVIDER ? (refresh) => refreshAtProvider(PROVIDER, refresh) : null,
  });

const pairing = new Pairing({
  code: ui.pairingCode,
  expiry: ui.pairingExpiry,
  error: ui.pairingError,
  onPaired: (credential) => {
    session.adopt(credential);
    showDashboard();
  },
});

const connection = new Connection({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/dashboard/`,
  token: async ({ renew = false } = {}) => {
    if (renew || session.accessExpiring()) await session.refresh();
    return session.access;
  },
  ticket: ({ renew = false } = {}) => session.ticket({ renew }),
  handlers: { onState: showConnection, onAuthenticated: authenticated, onMessage: received, onAuthProblem: authProblem },
});

const tiles = new Tiles({ emergencies: ui.emergencies, grid: ui.tiles }, {
  mayAct,
  send: (message) => connection.send(message),
  connected: () => connection.authenticated,
  actionsBlocked: () => status.blocked,
});

// Personal sessions sign out after the server's idle limit (docs/sign-in.md).
const idle = new IdleWatch({
  seconds: DISPLAY ? 0 : Number.parseFloat(document.body.dataset.idleSignoutSeconds || "0"),
  onIdle: signOutIdle,
});

const history = new History({ send: (message) => connection.send(message), currency: () => state.currency });

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
  ui.loginSubmit.disabled = true;
  ui.loginSubmit.textContent = "Signing in…";
  loginError(null);
  try {
    await session.login(username, password);
    ui.password.value = "";
    showDashboard();
    // Keyboard users start from the top of the page: the skip link, then Sign out.
    ui.topbar.focus({ preventScroll: true });
  } catch (error) {
    loginError(error.message);
    ui.password.select();
    ui.password.focus();
  } finally {
    ui.loginSubmit.disabled = false;
    ui.loginSubmit.textContent = "Sign in";
  }
});

ui.ssoSubmit.addEventListener("click", async () => {
  ui.ssoSubmit.disabled = true;
  loginError(null);
  try {
    await startSignIn(PROVIDER);
  } catch {
    ui.ssoSubmit.disabled = false;
    loginError("The hospital sign-in could not be started. Try again.");
  }
});

function showSignInChoices() {
  ui.ssoSubmit.hidden = !PROVIDER;
  if (PROVIDER) ui.ssoSubmit.textContent = `Sign in with ${PROVIDER.name}`;
  ui.localFields.hidden = !LOCAL_ACCOUNTS;
  ui.loginOr.hidden = !(PROVIDER && LOCAL_ACCOUNTS);
}

async function returnFromProvider() {
  try {
    const tokens = await finishSignIn(PROVIDER);
    if (!tokens) return false;
    session.adopt(tokens);
    showDashboard();
    ui.topbar.focus({ preventScroll: true });
    return true;
  } catch (error) {
    loginError(error.message);
    return false;
  }
}

ui.logout.addEventListener("click", async () => {
  ui.logout.disabled = true;
  connection.stop();
  await session.logout();
  ui.logout.disabled = false;
  signedOut("You have signed out.", false);
});

ui.retry.addEventListener("click", () => connection.retry());
window.addEventListener("online", () => {
  if (session.active && ["offline", "reconnecting"].includes(connection.state)) connection.retry();
});

async function signOutIdle() {
  connection.stop("idle");
  ui.username.value = ""; // a shared ward PC does not show who was signed in
  const ended = session.logout(); // forgets the tokens at once, then revokes the refresh token
  signedOut(`You were signed out after ${describeLimit(idle.seconds)} without activity. Sign in again to continue.`, false);
  await ended;
}

function loginError(text, tone = "error") {
  ui.loginError.hidden = !text;
  ui.loginError.textContent = text || "";
  ui.loginError.className = tone === "info" ? "form-message form-message-info" : "form-message";
}

function showDashboard() {
  ui.loginView.hidden = true;
  ui.pairingView.hidden = true;
  ui.dashboardView.hidden = false;
  ui.connection.hidden = false;
  idle.start();
  connection.start();
}

function signedOut(message, isProblem = true) {
  idle.stop();
  connection.stop();
  history.stop();
  session.forget();
  tiles.reset();
  forgetDepartments();
  Object.assign(state, { user: null, kind: null, level: null, departments: [], metrics: [], invalidTokens: 0 });
  ui.dashboardView.hidden = true;
  ui.account.hidden = true;
  ui.connection.hidden = true;
  if (DISPLAY) {
    showPairing(message);
    return;
  }
  ui.loginView.hidden = false;
  document.title = `${TITLE} · Sign in`;
  loginError(message, isProblem ? "error" : "info");
  if (LOCAL_ACCOUNTS) ui.username.focus();
  else ui.ssoSubmit.focus();
}

// --- the socket's messages -------------------------------------------------------------------
function authenticated(message, fresh) {
  state.invalidTokens = 0;
  state.user = message.user;
  const { added, scopeChanged } = applyAccess(message);
  notice(null);
  // A new socket starts empty: subscribe to everything, then make the values whole.
  const subscribe = fresh ? state.metrics : added;
  if (subscribe.length) connection.send({ type: "subscribe_metrics", metrics: subscribe });
  if (fresh) {
    connection.send({ type: "request_snapshot" });
    history.request();
  } else if (scopeChanged) {
    history.request();
  }
}

/**
 * The user's access changed on the open socket (docs/websocket-api.md, Access changes): the
 * header, the tiles and their bars follow it. The server dropped what is no longer allowed and
 * sends the current values of the new scope; newly allowed metrics are subscribed here.
 */
function accessChanged(message) {
  const { added, scopeChanged } = applyAccess(message);
  if (added.length) connection.send({ type: "subscribe_metrics", metrics: added });
  if (scopeChanged) history.request();
}

/** Take the access `authenticated` or `access_changed` carries: header, departments, tiles. */
function applyAccess(message) {
  const departments = Array.isArray(message.departments) ? message.departments : [];
  const scopeChanged = message.level !== state.level || departments.join() !== state.departments.join();
  state.kind = message.kind || "user";
  state.level = message.level;
  state.departments = departments;
  const metrics = Array.isArray(message.metrics) ? message.metrics : [];
  const added = metrics.filter((m) => !state.metrics.includes(m));
  state.metrics = metrics;
  // A super admin sees every department, a viewer with none too; the rest only their own.
  const all = state.level === "super_admin" || (state.level === "viewer" && !departments.length);
  limitTo(all ? null : departments);
  if (scopeChanged) tiles.resetVersions();
  showAccount(all);
  tiles.show(metrics);
  return { added, scopeChanged };
}

function applyUpdate(update) {
  if (!update || typeof update.metric !== "string") return;
  if (update.metric === "revenue" && update.data && update.data.currency) state.currency = update.data.currency;
  tiles.update(update.metric, update);
}

function received(message, request) {
  switch (message.type) {
    case "dashboard_update":
      applyUpdate(message);
      break;
    case "dashboard_updates":
      for (const update of Array.isArray(message.updates) ? message.updates : []) applyUpdate(update);
      break;
    case "metrics_snapshot":
      for (const [metric, value] of Object.entries(message.metrics || {})) applyUpdate({ ...value, metric });
      break;
    case "access_changed":
      accessChanged(message);
      break;
    case "subscriptions":
      // The server's word on what this user gets (access can change while connected).
      tiles.show(state.metrics.filter((m) => (message.metrics || []).includes(m)));
      break;
    case "historical_data":
      history.received(message, request);
      break;
    case "alert_acknowledged": {
      const panel = tiles.get("emergencyAlerts");
      if (panel) panel.acknowledged(message);
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
    const panel = tiles.get("emergencyAlerts");
    const text = message.code === "alert_not_found"
      ? "That alert was resolved before the acknowledgement reached the server."
      : message.code === "forbidden"
        ? "You may not acknowledge that alert."
        : `The alert could not be acknowledged: ${message.message || "the server refused it"}.`;
    if (panel) panel.failed(request.alertId, text);
  } else if (message.code === "metrics_unavailable") {
    notice("Some values cannot be loaded right now; they will fill in when the data source answers.");
  } else if (message.code !== "unknown_metric" && message.code !== "forbidden") {
    notice(message.message || "The server could not handle a request.");
  }
}

function authProblem(reason) {
  if (DISPLAY && !["token_expired", "invalid_token"].includes(reason)) {
    signedOut(DISPLAY_ENDED.access_revoked);
  } else if (reason === "token_expired") {
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
function showConnection(info) {
  clearInterval(countdown);
  const render = () => {
    status = describe(info, mayAct());
    ui.connection.dataset.state = info.state;
    ui.connectionLabel.textContent = status.label;
    ui.connectionDetail.textContent = status.text;
    ui.connectionDetail.title = status.title;
    ui.retry.hidden = !["offline", "reconnecting"].includes(info.state) || !session.active || info.nextRetryAt === null && info.state === "offline";
  };
  render();
  if (info.nextRetryAt) countdown = setInterval(render, 1_000);
  if (status.live) notLiveSince = null;
  else if (!notLiveSince) notLiveSince = new Date();
  tiles.setLive({ live: status.live || info.state === "connecting", badge: status.badge, since: notLiveSince });
  document.title = `${status.label} · ${TITLE}`;
}

function showAccount(all) {
  ui.account.hidden = false;
  ui.userName.textContent = state.user ? state.user.username : "";
  ui.userLevel.textContent = state.kind === "display" ? "Display" : LEVELS[state.level] || state.level || "";
  ui.userLevel.dataset.level = state.kind === "display" ? "display" : state.level || "";
  ui.logout.hidden = DISPLAY; // a passer-by cannot sign a display out
  ui.userDepartments.textContent = all
    ? "All departments"
    : state.departments.length ? state.departments.join(", ") : "No departments";
}

function notice(text) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text || "";
}

function showPairing(message = null) {
  ui.loginView.hidden = true;
  ui.pairingView.hidden = false;
  ui.pairingError.hidden = !message;
  ui.pairingError.textContent = message || "";
  document.title = `${TITLE} · Pair this display`;
  pairing.start();
}

// --- start -------------------------------------------------------------------------------------
if (!DISPLAY) showSignInChoices();
if (PROVIDER && new URLSearchParams(location.search).has("state")) {
  returnFromProvider().then((signedIn) => {
    if (!signedIn && session.restore()) showDashboard();
  });
} else if (session.restore()) showDashboard();
else if (DISPLAY) showPairing();
else if (LOCAL_ACCOUNTS) ui.username.focus();
else ui.ssoSubmit.focus();
