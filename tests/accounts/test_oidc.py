"""Single sign-on: the provider's access tokens checked against its JWKS (accounts/oidc.py), over
a stand-in provider on loopback (tests/oidc_provider.py)."""

from __future__ import annotations

import time

import pytest

from accounts import oidc
from accounts.models import Department, Level, ProviderIdentity
from accounts.tokens import validate_access_token
from tests.oidc_provider import BAD_TOKENS, Provider, bad_token, new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings, departments):
    running = Provider().start()
    settings.DASHBOARD_OIDC_ISSUER = running.issuer
    settings.DASHBOARD_OIDC_CLIENT_ID = "dashboard"
    settings.DASHBOARD_OIDC_AUDIENCE = "dashboard"
    settings.DASHBOARD_OIDC_JWKS_COOLDOWN_SECONDS = 0.5
    settings.DASHBOARD_OIDC_LEVEL_GROUPS = {
        "super_admin": "dash-super",
        "admin": "dash-admin",
        "viewer": "dash-viewer",
    }
    running.people["alice"] = {"groups": ["dash-admin", "nurses"], "departments": ["ER", "CARD"]}
    oidc.provider.reset()
    yield running
    oidc.provider.reset()
    running.stop()


@pytest.fixture(autouse=True)
def announced(monkeypatch):
    sent: list[list[int]] = []
    monkeypatch.setattr(oidc, "announce_access_change", lambda ids: sent.append(sorted(ids)))
    return sent


def test_an_rs256_token_signs_in_and_creates_the_user_from_its_claims(provider):
    check = validate_access_token(provider.mint("alice", email="alice@example.org"))
    assert check.ok, check.error
    assert check.access.username == "alice" and check.access.level == Level.ADMIN
    assert check.access.departments == {"ER", "CARD"}
    identity = ProviderIdentity.objects.get(subject="alice")
    assert identity.issuer == provider.issuer and identity.user.email == "alice@example.org"
    assert not identity.user.has_usable_password()


def test_an_es256_token_is_accepted(provider):
    assert validate_access_token(provider.mint("alice", key=provider.keys[1])).ok


def test_the_strongest_level_group_wins_and_unknown_departments_are_left_out(provider):
    token = provider.mint("bob", groups=["dash-viewer", "dash-super"], departments="ER,XYZ")
    check = validate_access_token(token)
    assert check.access.level == Level.SUPER_ADMIN and check.access.departments == {"ER"}


def test_no_level_group_means_no_dashboard_access(provider):
    check = validate_access_token(provider.mint("carol", groups=["nurses"]))
    assert (check.ok, check.error) == (False, "no_dashboard_access")


def test_a_claim_change_updates_the_user_and_is_announced(provider, announced):
    validate_access_token(provider.mint("alice"))
    user_id = ProviderIdentity.objects.get(subject="alice").user_id
    announced.clear()
    validate_access_token(provider.mint("alice"))  # the same claims: nothing to announce
    assert announced == []
    check = validate_access_token(
        provider.mint("alice", groups=["dash-viewer"], departments=["ER"])
    )
    assert check.access.level == Level.VIEWER and check.access.departments == {"ER"}
    assert announced == [[user_id]]


def test_a_rotated_key_is_fetched_and_accepted_without_a_restart(provider):
    assert validate_access_token(provider.mint("alice")).ok
    fetches = provider.jwks_fetches
    fresh = provider.rotate()
    time.sleep(0.6)  # past the refetch cooldown
    assert validate_access_token(provider.mint("alice", key=fresh)).ok
    assert provider.jwks_fetches == fetches + 1


def test_an_unknown_kid_is_refused_after_one_refetch(provider):
    validate_access_token(provider.mint("alice"))
    fetches = provider.jwks_fetches
    time.sleep(0.6)
    stranger = new_key("RS256")
    assert validate_access_token(provider.mint("alice", key=stranger)).error == "invalid_token"
    assert provider.jwks_fetches == fetches + 1


@pytest.mark.parametrize("bad", [bad for bad in BAD_TOKENS if bad != "unknown kid"])
def test_bad_tokens_are_refused(provider, bad):
    check = validate_access_token(bad_token(provider, bad))
    assert not check.ok
    assert check.error == ("token_expired" if bad == "expired" else "invalid_token")
    assert not ProviderIdentity.objects.exists()


def test_rest_and_the_ticket_accept_the_providers_token(provider, api):
    token = provider.mint("alice")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    catalogue = api.get("/api/metrics/")
    assert catalogue.status_code == 200, catalogue.content
    ticket = api.post("/api/auth/ticket/", {}, format="json")
    assert ticket.status_code == 200, ticket.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {provider.mint('alice', aud='other')}")
    refused = api.post("/api/auth/ticket/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (401, "token_not_valid")


def test_local_accounts_can_be_turned_off(provider, api, settings, make_user):
    make_user("local", level=Level.VIEWER)
    from tests.accounts.conftest import PASSWORD

    assert (
        api.post(
            "/api/auth/token/", {"username": "local", "password": PASSWORD}, format="json"
        ).status_code
        == 200
    )
    settings.DASHBOARD_LOCAL_ACCOUNTS = False
    refused = api.post(
        "/api/auth/token/", {"username": "local", "password": PASSWORD}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "local_accounts_disabled")
    assert validate_access_token(provider.mint("alice")).ok


def test_the_departments_must_exist(provider):
    Department.objects.filter(code="CARD").delete()
    assert validate_access_token(provider.mint("alice")).access.departments == {"ER"}


def test_a_provider_user_created_then_changed_goes_on_the_audit_trail(provider, audit_queue):
    from audit.models import AuditEntry

    validate_access_token(provider.mint("alice"))
    validate_access_token(provider.mint("alice"))  # the same claims: nothing to record
    validate_access_token(provider.mint("alice", groups=["dash-viewer"], departments=["ER"]))
    audit_queue.drain()

    entries = list(AuditEntry.objects.order_by("seq"))
    assert [(e.event, e.username, e.channel) for e in entries] == [
        ("user_created", "identity provider", "provider"),
        ("user_updated", "identity provider", "provider"),
    ]
    created, updated = entries
    assert created.detail["user"] == "alice" and created.detail["issuer"] == provider.issuer
    assert created.detail["new"] == {
        "level": "admin",
        "departments": ["CARD", "ER"],
        "active": True,
    }
    assert updated.detail["changes"] == {
        "level": ["admin", "viewer"],
        "departments": [["CARD", "ER"], ["ER"]],
    }
