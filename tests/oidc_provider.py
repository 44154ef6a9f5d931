"""A stand-in OpenID Connect provider on loopback, for the single sign-on tests.

Keys are generated here (RSA and P-256), and it serves what a real provider does
for the dashboard: the discovery document, the JWKS, an authorization endpoint
for the code flow with PKCE (it signs in whoever the test names, at once) and a
token endpoint (authorization code and refresh token grants, CORS open). Tests
mint tokens with `mint`, good or deliberately bad, and rotate keys with `rotate`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.accounts.forgery import b64url, signing_input


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    def public_jwk(self) -> dict:
        jwk = json.loads(
            jwt.algorithms.get_default_algorithms()[self.algorithm].to_jwk(
                self.private.public_key()
            )
        )
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def new_key(algorithm: str = "RS256") -> SigningKey:
    if algorithm.startswith("ES"):
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(f"key-{secrets.token_hex(4)}", algorithm, private)


@dataclass
class Provider:
    audience: str = "dashboard"
    client_id: str = "dashboard"
    token_seconds: int = 300
    keys: list[SigningKey] = field(default_factory=lambda: [new_key("RS256"), new_key("ES256")])
    # Who the authorization endpoint signs in, and their claims (tests change them).
    people: dict[str, dict] = field(default_factory=dict)
    signing_in: str | None = None
    jwks_fetches: int = 0
    codes: dict[str, dict] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/realms/hospital"

    # --- tokens --------------------------------------------------------------------------------
    def claims_for(self, subject: str, **extra: Any) -> dict:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + self.token_seconds,
            "preferred_username": subject,
            **self.people.get(subject, {}),
            **extra,
        }

    def mint(
        self,
        subject: str = "alice",
        key: SigningKey | None = None,
        headers: dict | None = None,
        **claims: Any,
    ) -> str:
        key = key or self.keys[0]
        return jwt.encode(
            self.claims_for(subject, **claims),
            key.private,
            algorithm=key.algorithm,
            headers={"kid": key.kid, **(headers or {})},
        )

    def rotate(self) -> SigningKey:
        """A new RSA key replaces the first one in the JWKS (the old one is gone)."""
        fresh = new_key("RS256")
        self.keys[0] = fresh
        return fresh

    def jwks(self) -> dict:
        return {"keys": [key.public_jwk() for key in self.keys]}

    # --- the server ----------------------------------------------------------------------------
    def start(self) -> Provider:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def discovery(self) -> dict:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "jwks_uri": base + "/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }


def _handler(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any = None, headers: dict | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:  # CORS preflight
            self._send(
                204,
                None,
                {
                    "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Allow-Methods": "POST",
                },
            )

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            path = url.path.removeprefix("/realms/hospital")
            if path == "/.well-known/openid-configuration":
                self._send(200, provider.discovery())
            elif path == "/jwks":
                provider.jwks_fetches += 1
                self._send(200, provider.jwks())
            elif path == "/authorize":
                query = dict(urllib.parse.parse_qsl(url.query))
                if (
                    query.get("response_type") != "code"
                    or query.get("client_id") != provider.client_id
                    or query.get("code_challenge_method") != "S256"
                    or not query.get("code_challenge")
                    or provider.signing_in is None
                ):
                    self._send(400, {"error": "invalid_request"})
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = {
                    "subject": provider.signing_in,
                    "challenge": query["code_challenge"],
                    "redirect_uri": query["redirect_uri"],
                }
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
                )
                self._send(302, None, {"Location": target})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path.removeprefix("/realms/hospital")
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if path != "/token" or form.get("client_id") != provider.client_id:
                self._send(400, {"error": "invalid_client"})
                return
            if form.get("grant_type") == "authorization_code":
                grant = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if (
                    grant is None
                    or grant["challenge"] != challenge
                    or grant["redirect_uri"] != form.get("redirect_uri")
                ):
                    self._send(400, {"error": "invalid_grant"})
                    return
                subject = grant["subject"]
            elif form.get("grant_type") == "refresh_token":
                subject = provider.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if subject is None:
                    self._send(400, {"error": "invalid_grant"})
                    return
            else:
                self._send(400, {"error": "unsupported_grant_type"})
                return
            refresh = secrets.token_urlsafe(24)
            provider.refresh_tokens[refresh] = subject
            self._send(
                200,
                {
                    "access_token": provider.mint(subject),
                    "token_type": "Bearer",
                    "expires_in": provider.token_seconds,
                    "refresh_token": refresh,
                },
            )

    return Handler


# The tokens a relying party must refuse, by what is wrong with them.
BAD_TOKENS = (
    "wrong issuer",
    "wrong audience",
    "alg none",
    "HS256 with the public key",
    "expired",
    "no exp",
    "forged signature",
    "unknown kid",
)


def bad_token(provider: Provider, bad: str) -> str:
    """A token for "alice" that is wrong in the way `bad` (one of BAD_TOKENS) says."""
    key = provider.keys[0]
    if bad == "wrong issuer":
        # Signed with the provider's real key, naming another issuer.
        return provider.mint("alice", iss="https://evil.example.org/")
    if bad == "wrong audience":
        return provider.mint("alice", aud="another-app")
    if bad == "alg none":
        return _unsigned(provider.claims_for("alice"))
    if bad == "HS256 with the public key":
        public = key.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _hs256(provider.claims_for("alice"), public, key.kid)
    if bad == "expired":
        return provider.mint("alice", exp=int(time.time()) - 60)
    if bad == "no exp":
        claims = provider.claims_for("alice")
        del claims["exp"]
        return jwt.encode(claims, key.private, "RS256", headers={"kid": key.kid})
    if bad == "forged signature":
        return provider.mint("alice", key=new_key("RS256"), headers={"kid": key.kid})
    if bad == "unknown kid":
        return provider.mint("alice", key=new_key("RS256"))
    raise ValueError(f"no such bad token: {bad}")


def _unsigned(claims: dict) -> str:
    return signing_input({"alg": "none", "typ": "JWT", "kid": "x"}, claims) + "."


def _hs256(claims: dict, secret: bytes, kid: str) -> str:
    signed = signing_input({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    return f"{signed}.{b64url(hmac.new(secret, signed.encode(), hashlib.sha256).digest())}"
