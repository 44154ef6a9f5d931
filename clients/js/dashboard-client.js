// A client of the hospital live dashboard's WebSocket API (docs/websocket-api.md) for external
// dashboards, and the one the bundled page runs on. One ES module, no dependency, no build step:
// browsers, and Node 20+ given a WebSocket constructor (the `ws` package's) and fetch.
//
// It signs in with a one-time ticket (or `authenticate` when no ticket can be had), keeps the
// newest value of each metric, renews the token on the open socket before it expires, follows
// access changes, keeps acknowledgements across reconnects and rate limits, and reconnects for
// as long as it runs: jittered exponential backoff and, while the server cannot be reached, a
// probe of /health/live/ that reconnects as soon as it answers.

const CLOSE_AUTH_FAILED = 4001; // renew the token, then reconnect
const CLOSE_ACCESS_REVOKED = 4003; // the session is over
const OPEN = 1; // WebSocket.OPEN, whichever constructor made the socket
const MAX_NAMES = 32; // metric names a subscribe message may carry
const TOKEN_RETRY_MS = 5_000; // getToken() failed on an open socket: ask again this much later
const ALERTS = "emergencyAlerts";

export const DEFAULTS = Object.freeze({
  retryBaseMs: 1_000, // the first retry after about a second, doubling...
  retryMaxMs: 30_000, // ...up to about 30 s, for as long as the client runs
  quickRetries: 5, // after this many failed attempts the status says "offline"
  probeMs: 1_000, // while the server cannot be reached, ask /health/live/ about this often
  pingAfterMs: 70_000, // the server speaks every 30 s: ping a socket quiet for this long...
  dropAfterMs: 90_000, // ...and drop it after this long (a laptop asleep, a dead proxy)
  burst: 8, // the server allows 60 messages a minute with bursts of 10: stay a little under
  refillMs: 1_100,
  refreshLeadMs: 60_000, // renew the token this long before it expires (a quarter of a short life)
});

/** When a JWT expires (ms since the epoch), from its `exp`; null when it cannot be read. */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const { exp } = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

function problem(code, message, extra = {}) {
  return Object.assign(new Error(message), { name: "DashboardError", code, ...extra });
}

function parse(data) {
  try {
    const message = JSON.parse(data);
    return message && typeof message.type === "string" ? message : null;
  } catch {
    return null;
  }
}

export class DashboardClient {
  /** Read-only: "idle", "connecting", "live", "reconnecting", "offline" or "closed". */
  status = "idle";
  /** Read-only: the server's last `connection_status` ("recovered" reads as connected). */
  server = { status: "connected", detail: null };
  /** Read-only: who is signed in and what they may see ({user, kind, level, departments, metrics}). */
  access = null;
  /** Read-only: the newest value of each metric ({metric, data, updatedAt, stale, version}). */
  values = new Map();
  /** Read-only: the metrics the server streams to this client, as its last `subscriptions` says. */
  subscribed = new Set();
  closeCode = null;
  nextRetryAt = null;

  #options;
  #base;
  #socketUrl;
  #WebSocket;
  #fetch;
  #listeners = new Map();
  #wanted = null; // null: every metric the user may see
  #unwanted = new Set();
  #versions = new Map();
  #running = false;
  #generation = 0; // each attempt and each stop starts one: what an older one awaited is dropped
  #ws = null;
  #opened = false;
  #socketSignedIn = false; // this socket has been signed in (its subscriptions are made)
  #signedIn = false; // and streams now (not paused for a token)
  #wasLive = false;
  #attempt = 0;
  #retryTimer = null;
  #probeTimer = null;
  #downSeen = false;
  #probeStarted = false;
  #renew = false;
  #ticketToken = null;
  #refreshTimer = null;
  #skewMs = 0;
  #heartbeat = null;
  #heardAt = 0;
  #pinged = false;
  #queue = [];
  #pending = new Map();
  #counter = 0;
  #bucket = 0;
  #refilledAt = 0;
  #pausedUntil = 0;
  #flushTimer = null;
  #online = () => this.retryNow();

  /**
   * url: the dashboard server (default: this page's origin); getToken({renew}): an access token,
   * asked on every (re)connect and renewal (renew: the last one was refused or is expiring);
   * metrics: the names to keep subscribed, or "all" (every metric the user may see);
   * WebSocket, fetch: the constructors to use (Node: the `ws` package's WebSocket), with
   * socketOptions for it (Node: {origin}); the rest tunes DEFAULTS.
   */
  constructor({ url, getToken, metrics = "all", WebSocket, fetch, socketOptions, ...tuning } = {}) {
    if (typeof getToken !== "function") throw new TypeError("getToken({renew}) is required");
    this.#options = { ...DEFAULTS, ...tuning, getToken, socketOptions };
    this.#base = new URL(url ?? globalThis.location.origin);
    this.#socketUrl = new URL("/ws/dashboard/", this.#base);
    this.#socketUrl.protocol = this.#base.protocol === "https:" ? "wss:" : "ws:";
    this.#WebSocket = WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== "function") throw new TypeError("no WebSocket constructor");
    this.#fetch = fetch ?? ((...args) => globalThis.fetch(...args));
    if (metrics !== "all") this.#wanted = new Set(metrics);
  }

  // --- the application's side -----------------------------------------------------------------

  /** Listen to "status", "access", "subscriptions", "update", "alert", "message" or "error";
   * returns a function that stops listening. */
  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.#listeners.get(type).delete(listener);
  }

  /** Connect, and stay connected until stop(): a new session (values and access start empty). */
  start() {
    if (this.#running) return this;
    Object.assign(this, { access: null, subscribed: new Set(), closeCode: null });
    this.values.clear();
    this.#versions.clear();
    this.#running = true;
    this.#attempt = 0;
    this.#wasLive = false;
    globalThis.addEventListener?.("online", this.#online);
    this.#open();
    return this;
  }

  /** Close for good: no reconnect; whatever waits for an answer is rejected ("closed"). */
  stop(reason = "stopped") {
    if (!this.#running) return;
    this.#running = false;
    this.#generation += 1;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#probeTimer);
    globalThis.removeEventListener?.("online", this.#online);
    this.#detach();
    for (const entry of this.#queue) entry.reject?.(problem("closed", `the client stopped: ${reason}`));
    this.#queue = [];
    this.nextRetryAt = null;
    this.#setStatus("closed");
  }

  /** Try now rather than at the next retry, and start the quick retries again. */
  retryNow() {
    if (!this.#running || this.#ws) return;
    this.#attempt = 0;
    this.#open();
  }

  /** Send getToken()'s token on the open socket now (the application renewed it, say). */
  authenticate() {
    if (this.#ws) this.#authenticate();
  }

  subscribe(metrics) {
    for (const metric of metrics) {
      this.#unwanted.delete(metric);
      this.#wanted?.add(metric);
    }
    if (this.#socketSignedIn) this.#subscribe(metrics.filter((m) => !this.subscribed.has(m)));
  }

  unsubscribe(metrics) {
    for (const metric of metrics) {
      this.#unwanted.add(metric);
      this.#wanted?.delete(metric);
      this.values.delete(metric);
      this.#versions.delete(metric);
    }
    const held = metrics.filter((metric) => this.subscribed.has(metric));
    if (this.#socketSignedIn) this.#chunks("unsubscribe_metrics", held);
  }

  /** The newest value of a metric, or undefined. */
  value(metric) {
    return this.values.get(metric);
  }

  /** Queue a message; returns its requestId (its answer comes as a "message" or "error" event). */
  send(message) {
    return this.#enqueue(message).message.requestId;
  }

  /** Send a message; resolves with its answer, rejects with the server's error (or "disconnected"). */
  request(message) {
    return new Promise((resolve, reject) => this.#enqueue(message, { resolve, reject }));
  }

  /** Acknowledge an emergency alert: kept across reconnects and rate limits until the server
   * answers; resolves with `alert_acknowledged`, rejects with the refusal (alert_not_found...). */
  acknowledge(alertId) {
    const message = { type: "acknowledge_alert", alertId: String(alertId) };
    return new Promise((resolve, reject) => this.#enqueue(message, { resolve, reject, keep: true }));
  }

  // --- connecting -------------------------------------------------------------------------------

  async #open() {
    const generation = ++this.#generation;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#probeTimer);
    this.nextRetryAt = null;
    this.#setStatus(this.#attempt === 0 && !this.#wasLive ? "connecting" : this.#retryStatus());
    let ticket;
    try {
      ticket = await this.#ticket(await this.#freshToken());
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#emit("error", problem("token_unavailable", "getToken() gave no token", { cause: error }));
      this.#retryLater(true); // the token may come from the dashboard server itself, away now
      return;
    }
    if (generation !== this.#generation) return;
    const url = new URL(this.#socketUrl);
    if (ticket) url.search = new URLSearchParams({ ticket, batch: "true" });
    const { socketOptions } = this.#options;
    let ws;
    try {
      ws = socketOptions ? new this.#WebSocket(url.href, socketOptions) : new this.#WebSocket(url.href);
    } catch {
      this.#retryLater(true);
      return;
    }
    this.#attach(ws, ticket ? null : this.#ticketToken);
  }

  /** A one-time ticket for the handshake, or null: the socket then signs in with `authenticate`
   * (the server cannot be reached, or refuses the request, say across origins). */
  async #ticket(token) {
    this.#ticketToken = token;
    const post = (access) => this.#fetch(new URL("/api/auth/ticket/", this.#base), {
      method: "POST",
      headers: { Authorization: `Bearer ${access}`, Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    });
    try {
      let response = await post(token);
      if (response.status === 401) {
        this.#ticketToken = await this.#freshToken(true); // refused: once more with a fresh one
        response = await post(this.#ticketToken);
      }
      return response.ok ? (await response.json()).ticket || null : null;
    } catch {
      return null;
    }
  }

  /** The new socket; `token`: sign it in with `authenticate` (it has no ticket). */
  #attach(ws, token) {
    this.#ws = ws;
    this.#opened = this.#socketSignedIn = this.#signedIn = false;
    this.#bucket = this.#options.burst;
    this.#refilledAt = performance.now();
    this.#pausedUntil = 0;
    const current = () => this.#ws === ws;
    ws.onopen = () => {
      if (!current()) return;
      this.#opened = true;
      clearTimeout(this.#probeTimer);
      this.#heard();
      this.#heartbeat = setInterval(() => this.#checkQuiet(), 5_000);
      if (token) this.#authenticate({ token }); // with a ticket, `authenticated` comes unasked
    };
    ws.onmessage = (event) => {
      if (!current()) return;
      this.#heard();
      const message = parse(event.data);
      if (message) this.#receive(message);
    };
    ws.onclose = (event) => {
      if (current()) this.#closed(event.code);
    };
    ws.onerror = () => {}; // "close" follows and does the work
  }

  /** The socket is gone (code null: dropped here for silence). */
  #closed(code) {
    const reached = this.#opened;
    this.#detach();
    this.closeCode = code;
    if (code === CLOSE_ACCESS_REVOKED) {
      this.#end("access_revoked", "the user's dashboard access was revoked");
      return;
    }
    if (code === CLOSE_AUTH_FAILED) this.#renew = true;
    this.#retryLater(!reached);
  }

  /** Let go of the socket. Acknowledgements, queued or unanswered, wait for the next one; what
   * was for this socket only is dropped (a request() rejects: "disconnected"). */
  #detach() {
    const ws = this.#ws;
    this.#ws = null;
    this.#signedIn = this.#socketSignedIn = false;
    this.subscribed = new Set();
    clearInterval(this.#heartbeat);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#flushTimer);
    const entries = [...this.#pending.values(), ...this.#queue];
    this.#pending.clear();
    this.#queue = entries.filter((entry) => entry.keep);
    for (const entry of entries) {
      if (!entry.keep) entry.reject?.(problem("disconnected", "the connection closed before an answer"));
    }
    if (ws && ws.readyState <= OPEN) {
      try {
        ws.close(1000);
      } catch {
        // Closing already.
      }
    }
  }

  #retryStatus() {
    return this.#attempt > this.#options.quickRetries ? "offline" : "reconnecting";
  }

  /** Jittered exponential backoff, so that a ward of displays does not knock at once; and, when
   * no socket opened (the server could not be reached), the probe. */
  #retryLater(unreachable) {
    if (!this.#running) return;
    this.#attempt += 1;
    const { retryBaseMs, retryMaxMs } = this.#options;
    const base = Math.min(retryMaxMs, retryBaseMs * 2 ** (this.#attempt - 1));
    const delay = base * (0.8 + Math.random() * 0.3);
    this.nextRetryAt = Date.now() + Math.round(delay);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
    if (unreachable) {
      // The probe acts on the server's return: an answer after a failure. A failed attempt is
      // such a failure, unless the probe started it (a proxy answering for a server that is
      // down would otherwise bring an attempt every second).
      this.#downSeen = !this.#probeStarted;
      this.#probeLater();
    }
    this.#probeStarted = false;
    this.#setStatus(this.#retryStatus());
  }

  #probeLater() {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => this.#probe(), this.#options.probeMs * (0.5 + Math.random()));
  }

  async #probe() {
    const generation = this.#generation;
    let up;
    try {
      const response = await this.#fetch(new URL("/health/live/", this.#base), {
        mode: "no-cors", // across origins an opaque answer still says the server is there
        cache: "no-store",
        credentials: "omit",
        signal: AbortSignal.timeout?.(5_000),
      });
      up = response.ok || response.type === "opaque";
    } catch {
      up = false;
    }
    if (generation !== this.#generation || !this.#running || this.#ws) return; // an attempt began
    if (!up) {
      this.#downSeen = true;
    } else if (this.#downSeen) {
      this.#probeStarted = true;
      this.#open();
      return;
    }
    this.#probeLater();
  }

  #heard() {
    this.#heardAt = performance.now();
    this.#pinged = false;
  }

  #checkQuiet() {
    const quiet = performance.now() - this.#heardAt;
    if (quiet > this.#options.dropAfterMs) {
      this.#closed(null);
    } else if (quiet > this.#options.pingAfterMs && !this.#pinged && this.#signedIn) {
      this.#pinged = true;
      this.send({ type: "ping" });
    }
  }

  // --- signing in -------------------------------------------------------------------------------

  async #freshToken(renew = false) {
    const token = await this.#options.getToken({ renew: renew || this.#renew });
    if (typeof token !== "string" || !token) throw new TypeError("getToken() gave no token");
    this.#renew = false;
    return token;
  }

  /** `authenticate` first in line (only the newest token matters), with `token` or a fresh one. */
  async #authenticate({ renew = false, token = null } = {}) {
    const ws = this.#ws;
    try {
      token ??= await this.#freshToken(renew);
    } catch (error) {
      if (this.#ws !== ws || !ws) return;
      this.#emit("error", problem("token_unavailable", "getToken() gave no token", { cause: error }));
      clearTimeout(this.#refreshTimer);
      this.#refreshTimer = setTimeout(() => this.#authenticate({ renew }), TOKEN_RETRY_MS);
      return;
    }
    if (this.#ws !== ws || !ws) return;
    this.#queue = this.#queue.filter((entry) => entry.message.type !== "authenticate");
    const message = { type: "authenticate", token, batch: true, requestId: `c${++this.#counter}` };
    this.#queue.unshift({ message });
    this.#flush();
  }

  /** Renew before the token expires, by the server's clock (connection_status says its time). */
  #scheduleRefresh(token) {
    clearTimeout(this.#refreshTimer);
    const expiry = tokenExpiry(token);
    if (expiry === null) return;
    const left = expiry - (Date.now() + this.#skewMs);
    const lead = Math.min(this.#options.refreshLeadMs, left / 4);
    const renew = () => this.#authenticate({ renew: true });
    this.#refreshTimer = setTimeout(renew, Math.max(1_000, left - lead));
  }

  #authenticated(message, entry) {
    const fresh = !this.#socketSignedIn;
    this.#socketSignedIn = this.#signedIn = this.#wasLive = true;
    this.#attempt = 0;
    this.closeCode = this.nextRetryAt = null;
    this.#scheduleRefresh(entry ? entry.message.token : this.#ticketToken);
    const added = this.#applyAccess(message, "authenticated");
    // A new socket starts with no subscription: every metric wanted, then only the new ones.
    this.#subscribe(fresh ? this.access.metrics : added);
    if (this.status !== "live") this.#setStatus("live");
    this.#flush();
  }

  #authError(message, request) {
    const { error } = message;
    if (error === "invalid_ticket") {
      this.#authenticate(); // the socket waits for `authenticate` instead
    } else if (error === "different_user") {
      // Another user's token: refused, and the socket stays signed in as before.
      const { token, ...sent } = request ?? {};
      const text = "that token is another user's; the socket is unchanged";
      this.#emit("error", problem(error, text, { request: sent }));
    } else if (error === "token_expired" || error === "invalid_token") {
      this.#signedIn = false; // the stream is paused: everything else waits for a fresh token
      if (error === "invalid_token") this.#emit("error", problem(error, "the server refused the token"));
      this.#authenticate({ renew: true });
    } else {
      this.#end(error, "the user may no longer use the dashboard"); // the server closes with 4003
    }
  }

  /** The user's access from `authenticated` or `access_changed`; returns the metrics newly allowed. */
  #applyAccess(message, reason) {
    const before = this.access;
    const access = {
      user: message.user ?? before?.user ?? null,
      kind: message.kind ?? "user",
      level: message.level,
      departments: [...(message.departments ?? [])],
      metrics: [...(message.metrics ?? [])],
    };
    this.access = access;
    const scope = (a) => `${a.level}:${a.departments}`;
    if (before && scope(before) !== scope(access)) {
      this.#versions.clear(); // another scope: the old versions say nothing about its values
    }
    for (const metric of [...this.values.keys()]) {
      if (!access.metrics.includes(metric)) {
        this.values.delete(metric);
        this.#versions.delete(metric);
      }
    }
    const same = (a) => JSON.stringify([a.user?.id, a.kind, a.level, a.departments, a.metrics]);
    if (!before || same(before) !== same(access)) this.#emit("access", { ...access, reason });
    return before ? access.metrics.filter((metric) => !before.metrics.includes(metric)) : access.metrics;
  }

  #subscribe(metrics) {
    const wanted = metrics.filter((metric) => !this.#unwanted.has(metric)
      && (this.#wanted === null || this.#wanted.has(metric))
      && (!this.access || this.access.metrics.includes(metric)));
    this.#chunks("subscribe_metrics", wanted);
  }

  #chunks(type, metrics) {
    for (let i = 0; i < metrics.length; i += MAX_NAMES) {
      this.send({ type, metrics: metrics.slice(i, i + MAX_NAMES) });
    }
  }

  /** Ends the session: the server said the user may no longer see the dashboard. */
  #end(code, text) {
    this.stop(code);
    this.#emit("error", problem(code, text, { fatal: true }));
  }

  // --- receiving --------------------------------------------------------------------------------

  #receive(message) {
    const entry = typeof message.requestId === "string" ? this.#settle(message.requestId) : null;
    const request = entry ? entry.message : null;
    const again = message.type === "error" && this.#sendAgain(message, entry);
    switch (again ? null : message.type) {
      case "connection_status":
        this.#serverStatus(message);
        break;
      case "authenticated":
        this.#authenticated(message, entry);
        break;
      case "auth_error":
        this.#authError(message, request);
        break;
      case "access_changed":
        this.#subscribe(this.#applyAccess(message, "access_changed"));
        break;
      case "subscriptions":
        this.subscribed = new Set(message.metrics);
        this.#emit("subscriptions", [...this.subscribed]);
        break;
      case "dashboard_update":
        this.#keep(message);
        break;
      case "dashboard_updates":
        for (const update of message.updates ?? []) this.#keep(update);
        break;
      case "metrics_snapshot":
        for (const [metric, value] of Object.entries(message.metrics ?? {})) {
          this.#keep({ ...value, metric });
        }
        break;
      case "error": {
        const { code, message: text, retryAfter, metrics } = message;
        const error = problem(code, text, { request, retryAfter, metrics });
        if (entry?.reject) entry.reject(error);
        else this.#emit("error", error);
        break;
      }
      default:
        break;
    }
    if (entry && message.type !== "error") entry.resolve?.(message);
    this.#emit("message", message, request); // every frame, as it came
  }

  /** A refusal that only means "later": queued again, and true. */
  #sendAgain(message, entry) {
    if (message.code === "rate_limited") {
      // A server that names no request refused the oldest unanswered one (it answers in order).
      const refused = entry ?? this.#pending.values().next().value;
      if (refused) {
        this.#pending.delete(refused.message.requestId);
        this.#queue.unshift(refused);
      }
      const seconds = Number.isFinite(message.retryAfter) ? message.retryAfter : 1;
      this.#pausedUntil = performance.now() + seconds * 1000 + 100;
      this.#bucket = 0;
      this.#flush();
      return true;
    }
    if (message.code === "not_authenticated" && entry && entry.message.type !== "authenticate") {
      this.#signedIn = false; // sent while the stream was paused: again after the fresh token
      this.#queue.push(entry);
      return true;
    }
    return false;
  }

  #serverStatus(message) {
    const serverTime = Date.parse(message.serverTime);
    if (Number.isFinite(serverTime)) this.#skewMs = serverTime - Date.now();
    const recovered = message.status === "recovered";
    this.server = recovered
      ? { status: "connected", detail: "recovered" }
      : { status: message.status, detail: message.detail ?? null };
    if (this.status === "live") this.#setStatus("live");
  }

  /** Versions are integers below 2^53, the database position of the state a value reflects: a
   * value is kept when its version is at least the one held (the same version may carry newer
   * data), whatever frame it came in. */
  #keep(update) {
    if (!update || typeof update.metric !== "string") return;
    const { metric, version } = update;
    if (Number.isFinite(version)) {
      const held = this.#versions.get(metric);
      if (held !== undefined && version < held) return;
      this.#versions.set(metric, version);
    }
    const previous = this.values.get(metric) ?? null;
    const { data, updatedAt, stale } = update;
    const value = { metric, data, updatedAt, stale: Boolean(stale), version };
    this.values.set(metric, value);
    this.#emit("update", value, previous);
    if (metric === ALERTS) this.#announceAlerts(previous?.data, value.data);
  }

  /** "alert" events: each alert not in the previous value (every one in the first), and each
   * newly acknowledged one. */
  #announceAlerts(before, after) {
    const known = new Map((before?.alerts ?? []).map((alert) => [alert.id, alert]));
    for (const alert of after?.alerts ?? []) {
      const was = known.get(alert.id);
      if (!was) {
        this.#emit("alert", { change: "opened", alert });
      } else if (!was.acknowledgedAt && alert.acknowledgedAt) {
        this.#emit("alert", { change: "acknowledged", alert });
      }
    }
  }

  // --- sending ----------------------------------------------------------------------------------

  #enqueue(message, handlers = {}) {
    const entry = { message: { ...message, requestId: `c${++this.#counter}` }, ...handlers };
    this.#queue.push(entry);
    this.#flush();
    return entry;
  }

  #settle(requestId) {
    const entry = this.#pending.get(requestId) ?? null;
    this.#pending.delete(requestId);
    return entry;
  }

  /** Send what is queued, within the rate limit; until signed in, only `authenticate`. */
  #flush() {
    clearTimeout(this.#flushTimer);
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) return;
    const now = performance.now();
    const { burst, refillMs } = this.#options;
    this.#bucket = Math.min(burst, this.#bucket + (now - this.#refilledAt) / refillMs);
    this.#refilledAt = now;
    while (this.#queue.length) {
      const entry = this.#queue[0];
      if (!this.#signedIn && entry.message.type !== "authenticate") return;
      if (now < this.#pausedUntil || this.#bucket < 1) {
        const wait = Math.max(this.#pausedUntil - now, (1 - this.#bucket) * refillMs, 50);
        this.#flushTimer = setTimeout(() => this.#flush(), wait);
        return;
      }
      this.#queue.shift();
      this.#bucket -= 1;
      this.#pending.set(entry.message.requestId, entry);
      ws.send(JSON.stringify(entry.message));
    }
  }

  // --- events -----------------------------------------------------------------------------------

  #setStatus(status) {
    this.status = status;
    const { server, nextRetryAt, closeCode } = this;
    this.#emit("status", { status, server: { ...server }, attempt: this.#attempt, nextRetryAt, closeCode });
  }

  #emit(type, ...args) {
    for (const listener of this.#listeners.get(type) ?? []) {
      try {
        listener(...args);
      } catch (error) {
        setTimeout(() => {
          throw error; // the application's bug, reported without breaking the client
        });
      }
    }
  }
}
