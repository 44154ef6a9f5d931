"""Tokens an attacker could send: same claims as a real token, signed some other way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_input(header: dict, claims: dict) -> str:
    """header.claims, base64url-encoded: what a JWS signature covers."""
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())


def alg_none(token: str) -> str:
    return signing_input({"alg": "none", "typ": "JWT"}, claims_of(token)) + "."


def rs256(token: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_of(token), key, algorithm="RS256")


def public_key_as_hmac_secret(token: str) -> str:
    """The RS/HS confusion: HS256 keyed with an RSA public key, as a server verifying
    RS256 with `algorithms` unpinned would accept."""
    public_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signed = signing_input({"alg": "HS256", "typ": "JWT"}, claims_of(token))
    signature = hmac.new(public_pem, signed.encode(), hashlib.sha256).digest()
    return signed + "." + b64url(signature)


def hs512_with_the_real_key(token: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT finds the key short for SHA-512
        return jwt.encode(claims_of(token), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")


def hs256_with_another_key(token: str) -> str:
    key = "another-secret-that-is-long-enough-for-hs256!"
    return jwt.encode(claims_of(token), key, algorithm="HS256")


def tampered(token: str) -> str:
    """The real signature kept on claims that now name the next user, with the top level."""
    header, _, signature = token.split(".")
    claims = claims_of(token)
    claims.update(user_id=str(int(claims["user_id"]) + 1), level="super_admin", departments=[])
    return header + "." + b64url(json.dumps(claims).encode()) + "." + signature


def truncated_signature(token: str) -> str:
    return token[:-4]


FORGERIES = {
    "alg none": alg_none,
    "RS256": rs256,
    "public key as HMAC secret": public_key_as_hmac_secret,
    "HS512": hs512_with_the_real_key,
    "HS256 with another key": hs256_with_another_key,
    "tampered claims": tampered,
    "truncated signature": truncated_signature,
}
