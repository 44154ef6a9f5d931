// Outgoing messages: a queue that stays under the server's rate limit, remembers which messages
// await an answer, and carries acknowledgements over to the next socket, so that one clicked
// just before a disconnect is delivered after the reconnect (the server keeps the first
// acknowledgement of an alert, so sending one again is harmless).

// The server allows 60 messages a minute with bursts of 10; stay a little under both.
const BUCKET_SIZE = 8;
const BUCKET_REFILL_MS = 1_100;
const CARRIED = new Set(["acknowledge_alert"]);

export class Outbox {
  constructor() {
    this.counter = 0;
    this.queue = [];
    this.pending = [];
    this.ws = null;
    this.authenticated = false;
    this.tokens = BUCKET_SIZE;
    this.refilledAt = 0;
    this.pausedUntil = 0;
    this.timer = null;
  }

  /** A new socket: what must survive (queued or unanswered acknowledgements) waits for it. */
  attach(ws) {
    this.queue = [...this.pending, ...this.queue].filter((m) => CARRIED.has(m.type));
    this.pending = [];
    this.ws = ws;
    this.authenticated = false;
    this.tokens = BUCKET_SIZE;
    this.refilledAt = performance.now();
    this.pausedUntil = 0;
    clearTimeout(this.timer);
  }

  /** The socket is gone; what is queued or pending stays until the next one (or `clear`). */
  detach() {
    this.ws = null;
    this.authenticated = false;
    clearTimeout(this.timer);
  }

  /** Forget everything (sign-out, access revoked). */
  clear() {
    this.detach();
    this.queue = [];
    this.pending = [];
  }

  /** Queue a client message; returns its requestId. */
  add(message) {
    const requestId = `r${++this.counter}`;
    this.queue.push({ ...message, requestId });
    this.flush();
    return requestId;
  }

  /** `authenticate` first in line (only the newest token matters). */
  authenticate(token) {
    this.queue = this.queue.filter((m) => m.type !== "authenticate");
    this.queue.unshift({ type: "authenticate", token, batch: true, requestId: `r${++this.counter}` });
    this.flush();
  }

  flush() {
    clearTimeout(this.timer);
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
        this.timer = setTimeout(() => this.flush(), wait);
        return;
      }
      this.queue.shift();
      this.tokens -= 1;
      this.pending.push(next);
      ws.send(JSON.stringify(next));
    }
  }

  /** The pending request a reply answers (no longer pending). */
  settle(requestId) {
    if (!requestId) return null;
    const index = this.pending.findIndex((m) => m.requestId === requestId);
    return index < 0 ? null : this.pending.splice(index, 1)[0];
  }

  /** Refused while the stream was paused for a token: send it again after authenticating. */
  again(request) {
    if (request && request.type !== "authenticate") this.queue.push(request);
  }

  /** The server refused the oldest unanswered message (it answers in order): send it later. */
  rateLimited(retryAfter) {
    const seconds = Number.isFinite(retryAfter) ? retryAfter : 1;
    const refused = this.pending.shift();
    if (refused) this.queue.unshift(refused);
    this.pausedUntil = performance.now() + seconds * 1000 + 100;
    this.tokens = 0;
    this.flush();
  }
}
