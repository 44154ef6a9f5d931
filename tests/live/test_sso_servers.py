"""Single sign-on over a real server: the provider's tokens on REST and on the socket, a rotated
key, bad tokens refused, and a group change reaching an open socket (tests/oidc_provider.py is
the provider, on loopback)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.oidc_provider import Provider, bad_token
from tests.servers import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def provider():
    running = Provider().start()
    running.people["alice"] = {"groups": ["dash-admin"], "departments": ["ER", "CARD"]}
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(provider, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sso")
    running = LiveServer.start(
        workdir / "server",
        store_path=str(workdir / "store.sqlite3"),
        env=sso_env(provider),
    )
    yield running
    running.stop()


def sso_env(provider: Provider) -> dict[str, str]:
    return {
        "DASHBOARD_OIDC_ISSUER": provider.issuer,
        "DASHBOARD_OIDC_CLIENT_ID": provider.client_id,
        "DASHBOARD_OIDC_AUDIENCE": provider.audience,
        "DASHBOARD_OIDC_LEVEL_GROUPS": "super_admin=dash-super,admin=dash-admin,viewer=dash-viewer",
        "DASHBOARD_OIDC_JWKS_COOLDOWN_SECONDS": "0.5",
    }


def call(server: LiveServer, method: str, path: str, token: str, body: dict | None = None):
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def receive_until(ws, predicate, limit: int = 50) -> dict:
    for _ in range(limit):
        message = json.loads(ws.recv(timeout=10))
        if predicate(message):
            return message
    raise AssertionError("the awaited message did not come")


def test_rest_and_the_socket_accept_the_providers_token(server, provider):
    token = provider.mint("alice")
    status, catalogue = call(server, "GET", "/api/metrics/", token)
    assert status == 200 and catalogue
    status, ticket = call(server, "POST", "/api/auth/ticket/", token, {})
    assert status == 200
    with connect(f"{server.ws_url}?ticket={ticket['ticket']}", origin=server.url) as ws:
        hello = receive_until(ws, lambda m: m["type"] == "authenticated")
        assert hello["user"]["username"] == "alice" and hello["kind"] == "user"
        assert (hello["level"], hello["departments"]) == ("admin", ["CARD", "ER"])
    # `authenticate` with the token itself, ES256 this time.
    with connect(server.ws_url, origin=server.url) as ws:
        ws.send(
            json.dumps(
                {"type": "authenticate", "token": provider.mint("alice", key=provider.keys[1])}
            )
        )
        assert receive_until(ws, lambda m: m["type"].startswith("auth"))["type"] == "authenticated"


def test_a_rotated_key_is_accepted_by_the_running_server(server, provider):
    assert call(server, "GET", "/api/metrics/", provider.mint("alice"))[0] == 200
    fresh = provider.rotate()
    time.sleep(0.6)
    assert call(server, "GET", "/api/metrics/", provider.mint("alice", key=fresh))[0] == 200
    with connect(server.ws_url, origin=server.url) as ws:
        ws.send(json.dumps({"type": "authenticate", "token": provider.mint("alice", key=fresh)}))
        assert receive_until(ws, lambda m: m["type"].startswith("auth"))["type"] == "authenticated"


@pytest.mark.parametrize(
    "bad",
    [
        "wrong issuer",
        "wrong audience",
        "alg none",
        "HS256 with the public key",
        "expired",
        "unknown kid",
    ],
)
def test_bad_tokens_are_refused_on_rest_and_socket(server, provider, bad):
    token = bad_token(provider, bad)
    status, body = call(server, "GET", "/api/metrics/", token)
    assert status == 401, body
    with connect(server.ws_url, origin=server.url) as ws:
        ws.send(json.dumps({"type": "authenticate", "token": token}))
        refusal = receive_until(ws, lambda m: m["type"].startswith("auth"))
        assert refusal["type"] == "auth_error"
        assert refusal["error"] == ("token_expired" if bad == "expired" else "invalid_token")


def test_a_group_change_reaches_an_open_socket(server, provider):
    provider.people["bob"] = {"groups": ["dash-admin"], "departments": ["ER", "CARD"]}
    token = provider.mint("bob")
    status, ticket = call(server, "POST", "/api/auth/ticket/", token, {})
    assert status == 200
    with connect(f"{server.ws_url}?ticket={ticket['ticket']}", origin=server.url) as ws:
        receive_until(ws, lambda m: m["type"] == "authenticated")
        ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["revenue", "patientCount"]}))
        subscribed = receive_until(ws, lambda m: m["type"] == "subscriptions")
        assert set(subscribed["metrics"]) == {"revenue", "patientCount"}
        # The provider moves bob to the viewers; his next token anywhere (here, REST) says so.
        provider.people["bob"] = {"groups": ["dash-viewer"], "departments": ["ER"]}
        started = time.monotonic()
        assert call(server, "GET", "/api/metrics/", provider.mint("bob"))[0] == 200
        changed = receive_until(ws, lambda m: m["type"] == "access_changed")
        assert (changed["level"], changed["departments"]) == ("viewer", ["ER"])
        narrowed = receive_until(ws, lambda m: m["type"] == "subscriptions")
        assert narrowed["metrics"] == ["patientCount"]
        assert time.monotonic() - started < 5
        # Then out of every dashboard group: the socket is closed with 4003.
        provider.people["bob"] = {"groups": ["nurses"]}
        assert call(server, "GET", "/api/metrics/", provider.mint("bob"))[0] == 403
        refusal = receive_until(ws, lambda m: m["type"] == "auth_error")
        assert refusal["error"] == "no_dashboard_access"
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003


def test_a_providers_token_signs_in_again_only_as_the_same_user(server, provider):
    """Two provider identities are two users; the same person's fresh token renews in band."""
    provider.people["carol"] = {"groups": ["dash-admin"], "departments": ["ER"]}
    provider.people["dave"] = {"groups": ["dash-admin"], "departments": ["ER"]}
    with connect(server.ws_url, origin=server.url) as ws:
        ws.send(json.dumps({"type": "authenticate", "token": provider.mint("carol")}))
        first = receive_until(ws, lambda m: m["type"] == "authenticated")
        ws.send(json.dumps({"type": "subscribe_metrics", "metrics": ["patientCount"]}))
        receive_until(ws, lambda m: m["type"] == "subscriptions")
        ws.send(
            json.dumps(
                {"type": "authenticate", "token": provider.mint("dave"), "requestId": "other"}
            )
        )
        refused = receive_until(ws, lambda m: m.get("requestId") == "other")
        assert refused == {"type": "auth_error", "error": "different_user", "requestId": "other"}
        ws.send(
            json.dumps({"type": "authenticate", "token": provider.mint("carol"), "requestId": "me"})
        )
        again = receive_until(ws, lambda m: m.get("requestId") == "me")
        assert again["type"] == "authenticated" and again["user"] == first["user"]
        ws.send(
            json.dumps({"type": "unsubscribe_metrics", "metrics": ["revenue"], "requestId": "s"})
        )
        kept = receive_until(ws, lambda m: m.get("requestId") == "s")
        assert kept["metrics"] == ["patientCount"]
