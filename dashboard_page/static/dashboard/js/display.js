// A wall display (/display/): it pairs once by showing a code an admin confirms in Django admin,
// then keeps a device credential in localStorage and exchanges it for access tokens whenever the
// dashboard client asks (docs/sign-in.md). It has no password, no sign-out button and no idle
// sign-out.

import { tokenExpiry } from "../../client/dashboard-client.js";
import { AuthError, post } from "./session.js";

const CREDENTIAL_KEY = "hospital-dashboard.display";
const ENDPOINTS = {
  pairing: "/api/auth/display/pairing/",
  status: "/api/auth/display/pairing/status/",
  token: "/api/auth/display/token/",
};
const POLL_MS = 2_000;
const RETRY_MS = 10_000;

/** The display's credential and access token; the same shape the page uses for a person's session. */
export class DisplaySession {
  /** onEnded(reason): the credential was refused (revoked, replaced, unused too long): pair again. */
  constructor({ onEnded }) {
    Object.assign(this, { onEnded, credential: null, accessToken: null, inflight: null, lifetime: 0 });
  }

  restore() {
    try {
      const saved = JSON.parse(localStorage.getItem(CREDENTIAL_KEY) || "null");
      if (saved && Number.isInteger(saved.device) && typeof saved.secret === "string") this.credential = saved;
    } catch {
      this.credential = null;
    }
    return this.credential !== null;
  }

  /** A credential a pairing handed over: kept for good (until it is refused). */
  adopt({ device, secret, name }) {
    this.credential = { device, secret, name };
    try {
      localStorage.setItem(CREDENTIAL_KEY, JSON.stringify(this.credential));
    } catch {
      // Kept in memory only: the display pairs again after a reload.
    }
  }

  get name() {
    return this.credential ? this.credential.name : "";
  }

  get access() {
    return this.accessToken;
  }

  get active() {
    return this.credential !== null;
  }

  accessExpiring(marginMs = 15_000) {
    const expiry = this.accessToken && tokenExpiry(this.accessToken);
    if (!expiry) return true;
    const left = expiry - Date.now();
    // Short test lifetimes: "expiring" is the last quarter of the token's life at most.
    return left < Math.min(marginMs, this.lifetime * 0.25);
  }

  /** The access token for the dashboard client: renewed first when asked or close to expiry. */
  async token({ renew = false } = {}) {
    if (renew || this.accessExpiring()) await this.refresh();
    return this.access;
  }

  /** Exchange the credential for a new access token (concurrent callers share one request). */
  refresh() {
    if (!this.credential) return Promise.reject(new AuthError("Not paired.", { code: "signed_out" }));
    if (!this.inflight) {
      const sent = this.credential;
      this.inflight = post(ENDPOINTS.token, { device: sent.device, secret: sent.secret })
        .then((data) => {
          if (this.credential !== sent) return this.access;
          this.accessToken = data.access;
          if (data.name && data.name !== sent.name) this.adopt({ ...sent, name: data.name });
          const expiry = tokenExpiry(this.accessToken);
          this.lifetime = expiry ? Math.max(1_000, expiry - Date.now()) : RETRY_MS;
          return this.access;
        })
        .catch((error) => {
          // Refused: pair again. Anything else (the server away): the client asks again.
          if (error.status === 401 || error.status === 400) {
            this.end(error.code === "credential_expired" ? "credential_expired" : "display_revoked");
          }
          throw error;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }

  async logout() {
    this.forget();
  }

  end(reason) {
    this.forget();
    this.onEnded(reason);
  }

  forget() {
    Object.assign(this, { credential: null, accessToken: null });
    try {
      localStorage.removeItem(CREDENTIAL_KEY);
    } catch {
      // Nothing was stored.
    }
  }
}

/** The pairing screen: a code to show, polled until an admin confirms it. */
export class Pairing {
  constructor({ code, expiry, error, onPaired }) {
    Object.assign(this, { codeEl: code, expiryEl: expiry, errorEl: error, onPaired });
    Object.assign(this, { pairing: null, expiresAt: 0, pollTimer: null, clock: null, running: false });
  }

  async start() {
    this.stop();
    this.running = true;
    this.codeEl.textContent = "…";
    this.expiryEl.textContent = "";
    let data;
    try {
      data = await post(ENDPOINTS.pairing, {});
    } catch (error) {
      if (!this.running) return;
      const wait = error.retryAfter ? error.retryAfter * 1000 : RETRY_MS;
      this.expiryEl.textContent = error.code === "network"
        ? "The server cannot be reached; trying again."
        : "No code yet; trying again shortly.";
      this.pollTimer = setTimeout(() => this.start(), wait);
      return;
    }
    if (!this.running) return;
    this.pairing = data.pairing;
    this.expiresAt = Date.parse(data.expiresAt);
    this.codeEl.textContent = data.code;
    this.codeEl.dataset.code = data.code;
    this.tick();
    this.clock = setInterval(() => this.tick(), 1_000);
    this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
  }

  stop() {
    this.running = false;
    clearTimeout(this.pollTimer);
    clearInterval(this.clock);
  }

  tick() {
    const left = Math.max(0, Math.round((this.expiresAt - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    this.expiryEl.textContent = `This code works for ${minutes}:${seconds} more; a new one follows.`;
    if (left === 0) this.start();
  }

  async poll() {
    if (!this.running) return;
    let data = null;
    try {
      data = await post(ENDPOINTS.status, { pairing: this.pairing });
    } catch (error) {
      if (!this.running) return;
      if (error.status === 404) {
        this.start(); // expired: a new code
        return;
      }
    }
    if (!this.running) return;
    if (data && data.status === "paired") {
      this.stop();
      this.onPaired(data);
      return;
    }
    this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
  }
}
