// The dashboard's WebSocket (/ws/dashboard/): authenticate, keep the socket alive, and reconnect
// for as long as the page is open: five quick attempts with exponential backoff, then about
// every 30 s (with jitter, so that a ward of wall displays does not knock all at once).

import { Outbox } from "./outbox.js";

export const RECONNECT_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 16_000;
export const SLOW_RETRY_MS = 30_000;
// The server sends connection_status every 30 s: after this much silence, ping; then give up.
const QUIET_PING_MS = 70_000;
const QUIET_GIVE_UP_MS = 90_000;
const CLOSE_AUTH_FAILED = 4001; // authentication failed or timed out: renew the token, reconnect
const CLOSE_ACCESS_REVOKED = 4003; // back to sign-in

/**
 * States a person sees: connecting, connected, degraded, stale, reconnecting, offline.
 * handlers: onState(info), onAuthenticated(message, fresh), onMessage(message, request),
 * onAuthProblem(error) ("token_expired" | "invalid_token" to renew, anything else ends the session).
 * token({renew}): a current access token (renewed first when asked).
 */
export class Connection {
  constructor({ url, token, handlers }) {
    this.url = url;
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.wanted = false;
    this.attempt = 0;
    this.everConnected = false;
    this.socketReady = false;
    this.renewToken = false;
    this.closeCode = null;
    this.serverStatus = "connected";
    this.serverDetail = null;
    this.reconnectTimer = null;
    this.nextRetryAt = null;
    this.watchdog = null;
    this.lastHeard = 0;
    this.pinged = false;
    this.outbox = new Outbox();
    this.state = null;
  }

  get authenticated() {
    return this.outbox.authenticated;
  }

  start() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  /** Close for good (sign-out): no reconnect, nothing kept to send. */
  stop() {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    this.close(1000, "signed out");
    this.outbox.clear();
    this.nextRetryAt = null;
    this.setState("offline");
  }

  /** The Retry button, or the browser coming back online: try now, quick attempts again. */
  retry() {
    if (!this.wanted || this.ws) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.open();
  }

  /** Queue a client message; returns its requestId. */
  send(message) {
    return this.outbox.add(message);
  }

  /** Alert ids whose acknowledgement has not been answered yet (kept across reconnects). */
  acknowledging() {
    return this.outbox.acknowledging();
  }

  /** Authenticate again on the open socket with a fresh access token. */
  reauthenticate() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendAuthenticate();
  }

  // --- socket lifecycle ------------------------------------------------------------------------
  open() {
    this.nextRetryAt = this.attempt > RECONNECT_ATTEMPTS ? 0 : null;
    const state = !this.everConnected && this.attempt === 0
      ? "connecting"
      : this.attempt > RECONNECT_ATTEMPTS ? "offline" : "reconnecting";
    this.setState(state);
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.dropped();
      return;
    }
    this.ws = ws;
    this.socketReady = false;
    this.outbox.attach(ws);
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
      this.outbox.detach();
      if (event.code === CLOSE_ACCESS_REVOKED) {
        this.wanted = false;
        this.outbox.clear();
        this.nextRetryAt = null;
        this.setState("offline");
        this.handlers.onAuthProblem("access_revoked");
        return;
      }
      if (event.code === CLOSE_AUTH_FAILED) this.renewToken = true;
      this.closeCode = event.code;
      this.dropped();
    });
    // "error" is always followed by "close", which does the work.
  }

  /** Close the current socket without reacting to its close event. */
  close(code = 1000, reason = "") {
    const ws = this.ws;
    this.ws = null;
    this.stopWatchdog();
    this.outbox.detach();
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closing.
      }
    }
  }

  /** The socket is gone: try again, quickly at first, then about every 30 s, for good. */
  dropped() {
    if (!this.wanted) return;
    this.attempt += 1;
    let delay;
    if (this.attempt <= RECONNECT_ATTEMPTS) {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
      delay = Math.round(base * (0.85 + Math.random() * 0.3));
    } else {
      delay = Math.round(SLOW_RETRY_MS * (0.8 + Math.random() * 0.3));
    }
    this.nextRetryAt = Date.now() + delay;
    this.setState(this.attempt <= RECONNECT_ATTEMPTS ? "reconnecting" : "offline");
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
        this.close(4000, "no heartbeat");
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

  /** Send `authenticate` first in line; the token may be renewed first (after a 4001). */
  async sendAuthenticate() {
    const ws = this.ws;
    let token;
    try {
      token = await this.token({ renew: this.renewToken });
    } catch {
      return; // the session renews or ends on its own; the socket waits (or times out and retries)
    }
    if (!token || this.ws !== ws) return;
    this.renewToken = false;
    this.outbox.authenticate(token);
  }

  // --- receiving ---------------------------------------------------------------------------------
  receive(message) {
    const request = this.outbox.settle(message.requestId);
    switch (message.type) {
      case "connection_status":
        this.serverStatus = message.status === "recovered" ? "connected" : message.status;
        this.serverDetail = message.status === "recovered" ? "recovered" : message.detail || null;
        if (this.authenticated) this.setState(this.serverStatus);
        break;
      case "authenticated": {
        const fresh = !this.socketReady;
        this.socketReady = true;
        this.outbox.authenticated = true;
        this.attempt = 0;
        this.closeCode = null;
        this.everConnected = true;
        this.nextRetryAt = null;
        this.setState(this.serverStatus);
        this.handlers.onAuthenticated(message, fresh);
        this.outbox.flush();
        break;
      }
      case "auth_error":
        if (message.error === "token_expired" || message.error === "invalid_token") {
          // The stream is paused until a fresh token: hold everything else until then.
          this.outbox.authenticated = false;
          this.handlers.onAuthProblem(message.error);
        } else {
          this.wanted = false;
          this.close(1000, "access refused");
          this.outbox.clear();
          this.nextRetryAt = null;
          this.setState("offline");
          this.handlers.onAuthProblem(message.error);
        }
        break;
      case "error":
        if (message.code === "rate_limited") {
          this.outbox.rateLimited(message.retryAfter);
        } else if (message.code === "not_authenticated") {
          // Sent just before the server paused for an expired token: send it again after renewal.
          this.outbox.again(request);
          this.outbox.authenticated = false;
        } else {
          this.handlers.onMessage(message, request);
        }
        break;
      default:
        this.handlers.onMessage(message, request);
    }
  }

  setState(state) {
    this.state = state;
    this.handlers.onState({
      state,
      detail: state === this.serverStatus ? this.serverDetail : null,
      attempt: this.attempt,
      attempts: RECONNECT_ATTEMPTS,
      nextRetryAt: this.nextRetryAt,
      slowRetryMs: SLOW_RETRY_MS,
      closeCode: this.closeCode,
    });
  }
}
