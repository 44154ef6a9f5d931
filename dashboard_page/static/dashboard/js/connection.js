// The dashboard's WebSocket (/ws/dashboard/): sign in with a one-time ticket in the handshake
// (or, when no ticket can be had, with `authenticate`), keep the socket alive, and reconnect for
// as long as the page is open: five quick attempts with exponential backoff, then about every
// 30 s (timing.js).

import { Outbox } from "./outbox.js";
import { Heartbeat, RECONNECT_ATTEMPTS, SLOW_RETRY_MS, listen, reconnectDelay, shut } from "./timing.js";
const CLOSE_AUTH_FAILED = 4001; // authentication failed or timed out: renew the token, reconnect
const CLOSE_ACCESS_REVOKED = 4003; // back to sign-in

/**
 * States a person sees: connecting, connected, degraded, stale, reconnecting, offline.
 * handlers: onState(info), onAuthenticated(message, fresh), onMessage(message, request),
 * onAuthProblem(error) ("token_expired" | "invalid_token" to renew, anything else ends the session).
 * token({renew}): a current access token (renewed first when asked).
 * ticket({renew}): a one-time ticket for the next socket's handshake.
 */
export class Connection {
  constructor({ url, token, ticket, handlers }) {
    Object.assign(this, { url, token, ticket, handlers, ws: null, wanted: false, attempt: 0, state: null });
    Object.assign(this, { opening: 0, ticketed: false });
    Object.assign(this, { everConnected: false, socketReady: false, renewToken: false, closeCode: null });
    Object.assign(this, { serverStatus: "connected", serverDetail: null, reconnectTimer: null, nextRetryAt: null });
    this.heartbeat = new Heartbeat({
      ping: () => this.authenticated && Boolean(this.send({ type: "ping" })),
      giveUp: () => {
        // A silent socket (sleeping laptop, dead proxy): drop it and reconnect.
        this.close(4000, "no heartbeat");
        this.dropped();
      },
    });
    this.outbox = new Outbox();
  }

  get authenticated() {
    return this.outbox.authenticated;
  }

  start() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  /** Close for good (sign-out, access refused): no reconnect, nothing kept to send. */
  stop(reason = "signed out") {
    this.wanted = false;
    this.opening += 1; // a socket still waiting for its ticket is not opened
    clearTimeout(this.reconnectTimer);
    this.close(1000, reason);
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

  /** Authenticate again on the open socket with a fresh access token. */
  reauthenticate() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendAuthenticate();
  }

  // --- socket lifecycle ------------------------------------------------------------------------
  async open() {
    this.nextRetryAt = this.attempt > RECONNECT_ATTEMPTS ? 0 : null;
    const state = !this.everConnected && this.attempt === 0
      ? "connecting"
      : this.attempt > RECONNECT_ATTEMPTS ? "offline" : "reconnecting";
    this.setState(state);
    const opening = ++this.opening;
    let ticket = null;
    try {
      ticket = await this.ticket({ renew: this.renewToken });
      this.renewToken = false;
    } catch {
      ticket = null; // no ticket (the API is away, or refused it): sign in with `authenticate`
    }
    if (!this.wanted || opening !== this.opening || this.ws) return;
    let ws;
    try {
      ws = new WebSocket(ticket ? `${this.url}?ticket=${encodeURIComponent(ticket)}&batch=true` : this.url);
    } catch {
      this.dropped();
      return;
    }
    this.ticketed = Boolean(ticket);
    this.ws = ws;
    this.socketReady = false;
    this.outbox.attach(ws);
    listen(ws, {
      isCurrent: () => this.ws === ws,
      onOpen: () => {
        this.heartbeat.start();
        if (!this.ticketed) this.sendAuthenticate(); // with a ticket, `authenticated` comes unasked
      },
      onMessage: (message) => {
        this.heartbeat.heard();
        if (message) this.receive(message);
      },
      onClose: (event) => this.closed(event),
    });
  }

  /** The server (or the network) closed the socket. */
  closed(event) {
    this.ws = null;
    this.heartbeat.stop();
    this.outbox.detach();
    if (event.code === CLOSE_ACCESS_REVOKED) {
      this.stop("access revoked");
      this.handlers.onAuthProblem("access_revoked");
      return;
    }
    if (event.code === CLOSE_AUTH_FAILED) this.renewToken = true;
    this.closeCode = event.code;
    this.dropped();
  }

  /** Close the current socket without reacting to its close event. */
  close(code = 1000, reason = "") {
    const ws = this.ws;
    this.ws = null;
    this.heartbeat.stop();
    this.outbox.detach();
    shut(ws, code, reason);
  }

  /** The socket is gone: try again, quickly at first, then about every 30 s, for good. */
  dropped() {
    if (!this.wanted) return;
    this.attempt += 1;
    const delay = reconnectDelay(this.attempt);
    this.nextRetryAt = Date.now() + delay;
    this.setState(this.attempt <= RECONNECT_ATTEMPTS ? "reconnecting" : "offline");
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
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
        if (message.error === "invalid_ticket") {
          // The ticket was refused (expired, used): the socket waits for `authenticate` instead.
          this.ticketed = false;
          this.sendAuthenticate();
        } else if (message.error === "different_user") {
          // The session now holds another user's token: a socket never changes identity, so
          // this one is replaced by a new socket signed in as that user.
          this.close(1000, "another user");
          this.outbox.authenticated = false;
          this.attempt = 0;
          this.open();
        } else if (message.error === "token_expired" || message.error === "invalid_token") {
          // The stream is paused until a fresh token: hold everything else until then.
          this.outbox.authenticated = false;
          this.handlers.onAuthProblem(message.error);
        } else {
          this.stop("access refused");
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
