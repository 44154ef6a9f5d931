// The login session: JWTs from the REST endpoints, kept in this tab's sessionStorage, and
// renewed (and rotated) when the dashboard client asks for a fresh access token.

import { tokenExpiry } from "../../client/dashboard-client.js";

const STORAGE_KEY = "hospital-dashboard.tokens";
const ENDPOINTS = {
  login: "/api/auth/token/",
  refresh: "/api/auth/token/refresh/",
  logout: "/api/auth/logout/",
};

export class AuthError extends Error {
  constructor(message, { code = "error", status = 0, retryAfter = null } = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export async function post(url, body, access = null) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (access) headers.Authorization = `Bearer ${access}`;
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new AuthError("The server cannot be reached. Check the connection and try again.", {
      code: "network",
    });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = (data && data.code) || "error";
    throw new AuthError(describe(response.status, code, data), {
      code,
      status: response.status,
      retryAfter: data && data.retryAfter,
    });
  }
  return data;
}

function describe(status, code, data) {
  if (status === 429) {
    const wait = data && data.retryAfter ? ` Try again in ${data.retryAfter} s.` : "";
    return `Too many sign-in attempts.${wait}`;
  }
  if (status === 401 || code === "no_active_account" || code === "authentication_failed") {
    return "Wrong username or password, or this account has no dashboard access.";
  }
  if (status === 400) return "Enter a username and a password.";
  return (data && data.message) || `The server answered ${status}.`;
}

export class Session {
  /** onEnded(reason): the session cannot continue (refresh token refused): back to sign-in. */
  constructor({ onEnded, renewAtProvider = null }) {
    // renewAtProvider(refresh) -> {access, refresh}: single sign-on sessions renew at the provider.
    this.renewAtProvider = renewAtProvider;
    this.onEnded = onEnded;
    this.tokens = null;
    this.inflight = null;
  }

  restore() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      if (saved && typeof saved.access === "string" && (typeof saved.refresh === "string" || saved.provider)) {
        this.tokens = saved;
      }
    } catch {
      this.tokens = null;
    }
    return this.tokens !== null;
  }

  get access() {
    return this.tokens ? this.tokens.access : null;
  }

  get active() {
    return this.tokens !== null;
  }

  /** True when the access token is missing or expires within `marginMs`. */
  accessExpiring(marginMs = 15_000) {
    const expiry = this.access && tokenExpiry(this.access);
    return !expiry || expiry - Date.now() < marginMs;
  }

  async login(username, password) {
    const data = await post(ENDPOINTS.login, { username, password });
    this.store({ access: data.access, refresh: data.refresh });
  }

  /** The access token for the dashboard client: renewed first when asked or close to expiry. */
  async token({ renew = false } = {}) {
    if (renew || this.accessExpiring()) await this.refresh();
    return this.access;
  }

  /** Rotate the tokens once (concurrent callers share the same request). */
  refresh() {
    if (!this.tokens) return Promise.reject(new AuthError("Not signed in.", { code: "signed_out" }));
    if (!this.inflight) {
      const sent = this.tokens.refresh;
      const provider = Boolean(this.tokens.provider);
      const renewal = provider
        ? sent && this.renewAtProvider
          ? this.renewAtProvider(sent)
          : Promise.reject(new AuthError("The sign-in ended.", { code: "expired", status: 401 }))
        : post(ENDPOINTS.refresh, { refresh: sent });
      this.inflight = renewal
        .then((data) => {
          if (!this.tokens || this.tokens.refresh !== sent) return this.access; // signed out meanwhile
          this.store({ access: data.access, refresh: data.refresh || sent, provider });
          return this.access;
        })
        .catch((error) => {
          // Refused: the session is over. Anything else (the server away): the client asks again.
          if (error.status === 401 || error.status === 400) this.end("expired");
          throw error;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }

  /** Tokens from elsewhere (the provider's, after single sign-on). */
  adopt(tokens) {
    this.store(tokens);
  }

  async logout() {
    const refresh = this.tokens && this.tokens.refresh;
    const provider = this.tokens && this.tokens.provider;
    this.forget();
    if (refresh && !provider) {
      try {
        await post(ENDPOINTS.logout, { refresh });
      } catch {
        // The tokens are gone from this tab either way; the refresh token expires on its own.
      }
    }
  }

  end(reason) {
    this.forget();
    this.onEnded(reason);
  }

  forget() {
    this.tokens = null;
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage may be unavailable (private mode); memory was the only copy then.
    }
  }

  store(tokens) {
    this.tokens = tokens;
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    } catch {
      // Kept in memory only.
    }
  }
}
