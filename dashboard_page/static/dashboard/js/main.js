// The page: sign-in, then the live dashboard over one WebSocket, through the dashboard client
// (clients/js/, served at /static/client/).

import { DEFAULTS, DashboardClient } from "../../client/dashboard-client.js";
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
let wasLive = false;

const session = DISPLAY
  ? new DisplaySession({
    onEnded: (reason) => signedOut(DISPLAY_ENDED[reason] || DISPLAY_ENDED.display_revoked),
  })
  : new Session({
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

// Every metric the user may see, for as long as the page is open (docs/dashboard.md).
const client = new DashboardClient({ getToken: ({ renew }) => session.token({ renew }) });
client.on("status", statusChanged);
client.on("access", accessChanged);
client.on("subscriptions", (metrics) => tiles.show(state.metrics.filter((m) => metrics.includes(m))));
client.on("update", applyUpdate);
client.on("message", (message, request) => {
  if (message.type === "authenticated") state.invalidTokens = 0;
  if (message.type === "historical_data") history.received(message, request);
});
client.on("error", failed);

const tiles = new Tiles({ emergencies: ui.emergencies, grid: ui.tiles }, {
  mayAct,
  // The emergency panel's only message: an acknowledgement, which the client keeps until answered.
  send: (message) => acknowledge(message.alertId),
  connected: () => client.status === "live",
  actionsBlocked: () => status.blocked,
});

// Personal sessions sign out after the server's idle limit (docs/sign-in.md).
const idle = new IdleWatch({
  seconds: DISPLAY ? 0 : Number.parseFloat(document.body.dataset.idleSignoutSeconds || "0"),
  onIdle: signOutIdle,
});

const history = new History({ send: (message) => client.send(message), currency: () => state.currency });

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
  client.stop();
  await session.logout();
  ui.logout.disabled = false;
  signedOut("You have signed out.", false);
});

ui.retry.addEventListener("click", () => client.retryNow());

async function signOutIdle() {
  client.stop("idle");
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
  client.start();
}

function signedOut(message, isProblem = true) {
  idle.stop();
  client.stop();
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

// --- the client's events --------------------------------------------------------------------
/** A new socket signed in: the trends again (an outage may have passed). */
function statusChanged(info) {
  const live = info.status === "live";
  if (live && !wasLive) {
    notice(null);
    history.request();
  }
  wasLive = live;
  showConnection(info);
}

/**
 * Who the user is and what they may see, at sign-in and whenever it changes on the open socket
 * (docs/websocket-api.md, Access changes): the header, the tiles and their bars follow it. The
 * client subscribes to newly allowed metrics; the server drops the others.
 */
function accessChanged(access) {
  const { departments } = access;
  const scopeChanged = access.level !== state.level || departments.join() !== state.departments.join();
  Object.assign(state, { user: access.user, kind: access.kind, level: access.level, departments, metrics: access.metrics });
  // A super admin sees every department, a viewer with none too; the rest only their own.
  const all = state.level === "super_admin" || (state.level === "viewer" && !departments.length);
  limitTo(all ? null : departments);
  if (scopeChanged) tiles.resetVersions();
  showAccount(all);
  tiles.show(access.metrics);
  if (scopeChanged && client.status === "live") history.request();
}

function applyUpdate(update) {
  if (update.metric === "revenue" && update.data && update.data.currency) state.currency = update.data.currency;
  tiles.update(update.metric, update);
}

function acknowledge(alertId) {
  const panel = () => tiles.get("emergencyAlerts");
  client.acknowledge(alertId).then(
    (reply) => panel()?.acknowledged(reply),
    (error) => {
      if (error.code === "closed") return; // signed out meanwhile
      const text = error.code === "alert_not_found"
        ? "That alert was resolved before the acknowledgement reached the server."
        : error.code === "forbidden"
          ? "You may not acknowledge that alert."
          : `The alert could not be acknowledged: ${error.message || "the server refused it"}.`;
      panel()?.failed(alertId, text);
    },
  );
}

function failed(error) {
  if (error.fatal) {
    signedOut(DISPLAY ? DISPLAY_ENDED.access_revoked : SESSION_ENDED[error.code] || SESSION_ENDED.access_revoked);
  } else if (error.code === "invalid_token") {
    // The client renews a refused token once; refused again, the session is not valid.
    state.invalidTokens += 1;
    if (state.invalidTokens > 1) signedOut(DISPLAY ? DISPLAY_ENDED.access_revoked : SESSION_ENDED.invalid_token);
  } else if (error.code === "different_user") {
    // The tab's session holds another user's tokens now: a socket never changes identity.
    client.stop("another user");
    client.start();
  } else if (error.request && error.request.type === "request_historical") {
    history.failed(error, error.request);
  } else if (error.code === "metrics_unavailable") {
    notice("Some values cannot be loaded right now; they will fill in when the data source answers.");
  } else if (!["unknown_metric", "forbidden", "token_unavailable"].includes(error.code)) {
    notice(error.message || "The server could not handle a request.");
  }
}

// --- what the person sees of the connection and the account ----------------------------------
/** The client's status as status.js describes it: connecting, connected (degraded, stale: the
 * server's word), reconnecting, offline (closed: offline with no next try). */
function showConnection({ status: now, server, attempt, nextRetryAt, closeCode }) {
  const info = {
    state: now === "live" ? server.status : now === "closed" ? "offline" : now,
    detail: now === "live" ? server.detail : null,
    attempt,
    attempts: DEFAULTS.quickRetries,
    nextRetryAt: now === "closed" ? null : nextRetryAt || 0,
    slowRetryMs: DEFAULTS.retryMaxMs,
    closeCode,
  };
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
