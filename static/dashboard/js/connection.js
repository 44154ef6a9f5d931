// The dashboard's WebSocket (/ws/dashboard/): authenticate, keep the socket alive, reconnect
// with exponential backoff, stay under the server's rate limit, and say what state it is in.

export const RECONNECT_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 16_000;
// The server sends connection_status every 30 s: after this much silence, ping; then give up.
const QUIET_PING_MS = 70_000;
const QUIET_GIVE_UP_MS = 90_000;
// The server allows 60 messages a minute with bursts of 10; stay a little under both.
const BUCKET_SIZE = 8;
const BUCKET_REFILL_MS = 1_100;
const CLOSE_ACCESS_REVOKED = 4003;

/**
 * States a person sees: connecting, connected, degraded, stale, reconnecting, offline.
 * handlers: onState({state, detail, attempt, nextRetryAt}), onAuthenticated(message, fresh),
 * onMessage(message, request), onAuthProblem(error) ("token_expired" | "invalid_token" to refresh,
 * anything else ends the session).
 */
export class Connection {
  constructor({ url, token, handlers }) {
    this.url = url;
    this.token = token; // async () => a current access token
    this.handlers = handlers;
    this.ws = null;
    this.wanted = false;
    this.attempt = 0;
    this.everConnected = false;
    this.authenticated = false;
    this.serverStatus = "connected";
    this.serverDetail = null;
    this.reconnectTimer = null;
    this.nextRetryAt = null;
    this.watchdog = null;
    this.lastHeard = 0;
    this.pinged = false;
    this.requestCounter = 0;
    this.queue = [];
    this.pending = [];
    this.tokens = BUCKET_SIZE;
    this.refilledAt = 0;
    this.pausedUntil = 0;
    this.flushTimer = null;
    this.socketReady = false;
    this.state = null;
  }

  start() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  /** Close for good (sign-out): no reconnect. */
  stop() {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    this.detach(1000, "signed out");
    this.setState("offline");
  }

  /** The Retry button, or the browser coming back online. */
  retry() {
    if (!this.wanted) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    if (!this.ws) this.open();
  }

  /** Queue a client message; returns its requestId. */
  send(message) {
    const requestId = `r${++this.requestCounter}`;
    this.queue.push({ ...message, requestId });
    this.flush();
    return requestId;
  }

  /** Authenticate again on the open socket with a fresh access token. */
  reauthenticate() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendAuthenticate();
  }

  // --- socket lifecycle ------------------------------------------------------------------------
  open() {
    this.nextRetryAt = null;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    this.authenticated = false;
    this.socketReady = false;
    this.queue = [];
    this.pending = [];
    this.tokens = BUCKET_SIZE;
    this.refilledAt = performance.now();
    this.pausedUntil = 0;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.heard();
      this.startWatchdog();
      this.sendAuthenticate();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this.heard();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === "string") this.receive(message);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopWatchdog();
      if (event.code === CLOSE_ACCESS_REVOKED) {
        this.wanted = false;
        this.setState("offline");
        this.handlers.onAuthProblem("access_revoked");
        return;
      }
      this.dropped();
    });
    // "error" is always followed by "close", which does the work.
  }

  /** Close the current socket without reacting to its close event. */
  detach(code = 1000, reason = "") {
    const ws = this.ws;
    this.ws = null;
    this.authenticated = false;
    this.stopWatchdog();
    clearTimeout(this.flushTimer);
    this.queue = [];
    this.pending = [];
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closing.
      }
    }
  }

  dropped() {
    this.authenticated = false;
    clearTimeout(this.flushTimer);
    if (!this.wanted) return;
    if (this.attempt >= RECONNECT_ATTEMPTS) {
      this.nextRetryAt = null;
      this.setState("offline");
      return;
    }
    this.attempt += 1;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(base * (0.85 + Math.random() * 0.3));
    this.nextRetryAt = Date.now() + delay;
    this.setState("reconnecting");
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  // --- liveness ----------------------------------------------------------------------------------
  heard() {
    this.lastHeard = performance.now();
    this.pinged = false;
  }

  startWatchdog() {
    this.stopWatchdog();
    this.watchdog = setInterval(() => {
      const quiet = performance.now() - this.lastHeard;
      if (quiet > QUIET_GIVE_UP_MS) {
        // A silent socket (sleeping laptop, dead proxy): drop it and reconnect.
        this.detach(4000, "no heartbeat");
        this.dropped();
      } else if (quiet > QUIET_PING_MS && !this.pinged && this.authenticated) {
        this.pinged = true;
        this.send({ type: "ping" });
      }
    }, 5_000);
  }

  stopWatchdog() {
    clearInterval(this.watchdog);
    this.watchdog = null;
  }

  // --- sending -----------------------------------------------------------------------------------
  /** Send `authenticate` first in line; `token()` may first renew a token about to expire. */
  async sendAuthenticate() {
    const ws = this.ws;
    let token;
    try {
      token = await this.token();
    } catch {
      return; // the session renews or ends on its own; the socket waits (or times out and retries)
    }
    if (!token || this.ws !== ws) return;
    // Only the newest token matters.
    this.queue = this.queue.filter((m) => m.type !== "authenticate");
    this.queue.unshift({ type: "authenticate", token, requestId: `r${++this.requestCounter}` });
    this.flush();
  }

  flush() {
    clearTimeout(this.flushTimer);
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    this.tokens = Math.min(BUCKET_SIZE, this.tokens + (now - this.refilledAt) / BUCKET_REFILL_MS);
    this.refilledAt = now;
    while (this.queue.length) {
      const next = this.queue[0];
      // Until authenticated only the authenticate message goes out; the rest waits for it.
      if (!this.authenticated && next.type !== "authenticate") break;
      if (now < this.pausedUntil || this.tokens < 1) {
        const wait = Math.max(this.pausedUntil - now, (1 - this.tokens) * BUCKET_REFILL_MS, 50);
        this.flushTimer = setTimeout(() => this.flush(), wait);
        return;
      }
      this.queue.shift();
      this.tokens -= 1;
      this.pending.push(next);
      ws.send(JSON.stringify(next));
    }
  }

  /** The pending request a reply answers (removed from the pending list). */
  settle(requestId) {
    if (!requestId) return null;
    const index = this.pending.findIndex((m) => m.requestId === requestId);
    return index < 0 ? null : this.pending.splice(index, 1)[0];
  }

  // --- receiving ---------------------------------------------------------------------------------
  receive(message) {
    const request = this.settle(message.requestId);
    switch (message.type) {
      case "connection_status":
        this.serverStatus = message.status === "recovered" ? "connected" : message.status;
        this.serverDetail = message.status === "recovered" ? "recovered" : message.detail || null;
        if (this.authenticated) this.setState(this.serverStatus);
        break;
      case "authenticated": {
        const fresh = !this.socketReady;
        this.socketReady = true;
        this.authenticated = true;
        this.attempt = 0;
        this.everConnected = true;
        this.setState(this.serverStatus);
        this.handlers.onAuthenticated(message, fresh);
        this.flush();
        break;
      }
      case "auth_error":
        if (message.error === "token_expired" || message.error === "invalid_token") {
          // The stream is paused until a fresh token: hold everything else until then.
          this.authenticated = false;
          this.handlers.onAuthProblem(message.error);
        } else {
          this.wanted = false;
          this.detach(1000, "access refused");
          this.setState("offline");
          this.handlers.onAuthProblem(message.error);
        }
        break;
      case "error":
        if (message.code === "rate_limited") {
          this.rateLimited(message.retryAfter);
        } else if (message.code === "not_authenticated") {
          // Sent just before the server paused for an expired token: send it again after renewal.
          if (request && request.type !== "authenticate") this.queue.push(request);
          this.authenticated = false;
        } else {
          this.handlers.onMessage(message, request);
        }
        break;
      default:
        this.handlers.onMessage(message, request);
    }
  }

  /** The server refused the oldest unanswered message (it answers in order): send it again later. */
  rateLimited(retryAfter) {
    const seconds = Number.isFinite(retryAfter) ? retryAfter : 1;
    const refused = this.pending.shift();
    if (refused) this.queue.unshift(refused);
    this.pausedUntil = performance.now() + seconds * 1000 + 100;
    this.tokens = 0;
    this.flush();
  }

  // --- state -------------------------------------------------------------------------------------
  setState(state) {
    this.state = state;
    this.handlers.onState({
      state,
      detail: state === this.serverStatus ? this.serverDetail : null,
      attempt: this.attempt,
      attempts: RECONNECT_ATTEMPTS,
      nextRetryAt: this.nextRetryAt,
    });
  }
}
