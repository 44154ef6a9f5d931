// A socket's life: listening to it, noticing when it has gone quiet, and when to try again
// once it has closed.

export const RECONNECT_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 16_000;
export const SLOW_RETRY_MS = 30_000;
// The server sends connection_status every 30 s: after this much silence, ping; then give up.
const QUIET_PING_MS = 70_000;
const QUIET_GIVE_UP_MS = 90_000;

/** Five quick attempts (about 1, 2, 4, 8, 16 s, ±15 %), then about every 30 s (24-33 s), for good:
 * the jitter keeps a ward of wall displays from knocking all at once. */
export function reconnectDelay(attempt) {
  if (attempt <= RECONNECT_ATTEMPTS) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    return Math.round(base * (0.85 + Math.random() * 0.3));
  }
  return Math.round(SLOW_RETRY_MS * (0.8 + Math.random() * 0.3));
}

/** A socket's liveness: `ping()` after 70 s without a message, `giveUp()` after 90 s. */
export class Heartbeat {
  constructor({ ping, giveUp }) {
    this.ping = ping;
    this.giveUp = giveUp;
    this.timer = null;
    this.lastHeard = 0;
    this.pinged = false;
  }

  heard() {
    this.lastHeard = performance.now();
    this.pinged = false;
  }

  start() {
    this.stop();
    this.heard();
    this.timer = setInterval(() => {
      const quiet = performance.now() - this.lastHeard;
      if (quiet > QUIET_GIVE_UP_MS) {
        this.giveUp();
      } else if (quiet > QUIET_PING_MS && !this.pinged && this.ping()) {
        this.pinged = true;
      }
    }, 5_000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}

/** Listen to `ws` while it is the current socket: onOpen(), onMessage(a message object with a
 * string `type`, or null for anything else), onClose(event). ("error" is always followed by
 * "close", which does the work.) */
export function listen(ws, { isCurrent, onOpen, onMessage, onClose }) {
  ws.addEventListener("open", () => {
    if (isCurrent()) onOpen();
  });
  ws.addEventListener("message", (event) => {
    if (!isCurrent()) return;
    let message = null;
    try {
      message = JSON.parse(event.data);
    } catch {
      message = null;
    }
    onMessage(message && typeof message.type === "string" ? message : null);
  });
  ws.addEventListener("close", (event) => {
    if (isCurrent()) onClose(event);
  });
}

/** Close `ws` if it is open or opening (its close event is no longer listened to). */
export function shut(ws, code, reason) {
  if (!ws || (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING)) return;
  try {
    ws.close(code, reason);
  } catch {
    // Already closing.
  }
}
