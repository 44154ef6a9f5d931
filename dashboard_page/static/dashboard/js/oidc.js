// Single sign-on through the hospital's OpenID Connect provider (docs/sign-in.md): the
// authorization code flow with PKCE, as a public client. The page keeps the provider's access
// and refresh tokens in this tab's sessionStorage like its own, and renews them at the provider.

import { AuthError } from "./session.js";

const PENDING_KEY = "hospital-dashboard.oidc-pending";

/** The server's single sign-on settings for this page, or null. */
export function providerConfig() {
  try {
    const config = JSON.parse(document.body.dataset.oidc || "null");
    return config && config.authorize && config.token && config.clientId ? config : null;
  } catch {
    return null;
  }
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function redirectUri() {
  return `${location.origin}/`;
}

/** Off to the provider: a code verifier, state and nonce kept for the way back. */
export async function startSignIn(config) {
  const verifier = randomText(48);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const pending = { verifier, state: randomText(), nonce: randomText() };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: config.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${config.authorize}${config.authorize.includes("?") ? "&" : "?"}${query}`);
}

/** Back from the provider (`?code=…&state=…`, or `?error=…`): the tokens, or null when this is
 * not a return from the provider. The query is removed from the address either way. */
export async function finishSignIn(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  history.replaceState(null, "", location.pathname);
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  } catch {
    pending = null;
  }
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has("error")) {
    throw new AuthError(`The hospital sign-in refused: ${params.get("error_description") || params.get("error")}.`, { code: "sso_refused" });
  }
  if (!pending || params.get("state") !== pending.state) {
    throw new AuthError("That sign-in did not start here. Try again.", { code: "sso_state" });
  }
  return tokenRequest(config, {
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: redirectUri(),
    client_id: config.clientId,
    code_verifier: pending.verifier,
  });
}

/** Renew at the provider with its refresh token. */
export function refreshAtProvider(config, refresh) {
  return tokenRequest(config, { grant_type: "refresh_token", refresh_token: refresh, client_id: config.clientId });
}

async function tokenRequest(config, form) {
  let response;
  try {
    response = await fetch(config.token, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(form),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new AuthError("The hospital sign-in cannot be reached. Try again.", { code: "network" });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || !data || typeof data.access_token !== "string") {
    // The provider refused the grant: to the page, an ended session (401).
    const status = response.status >= 400 && response.status < 500 ? 401 : response.status;
    throw new AuthError("The hospital sign-in refused. Sign in again.", { code: (data && data.error) || "sso_error", status });
  }
  return { access: data.access_token, refresh: data.refresh_token || null, provider: true };
}
