"""Display devices: pairing, the device credential, what a display may do, revoking it in admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts import changes, displays
from accounts.models import DisplayDevice, Level
from accounts.policy import access_for
from accounts.tickets import issue_ticket, redeem_ticket
from accounts.tokens import validate_access_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def announced(monkeypatch):
    """What was announced to the sockets (accounts/changes.py)."""
    sent: list[list[int]] = []
    monkeypatch.setattr(changes, "announce_access_change", lambda ids: sent.append(sorted(ids)))
    monkeypatch.setattr(displays, "announce_access_change", changes.announce_access_change)
    return sent


@pytest.fixture
def display(departments):
    device = DisplayDevice(name="Ward 3 corridor", user=displays.create_display_user("Ward 3"))
    device.save()
    device.departments.set([departments[0]])  # ER
    return device


def paired(device) -> str:
    pairing = displays.start_pairing()
    displays.confirm_pairing(device, pairing.code)
    state = displays.pairing_status(pairing.pairing_id)
    assert state is not None and state["status"] == "paired"
    return state["secret"]


def test_a_pairing_code_is_short_readable_and_handed_over_once(display):
    pairing = displays.start_pairing()
    assert len(pairing.code) == 7 and pairing.code[3] == "-"
    assert set(pairing.code.replace("-", "")) <= set(displays.CODE_ALPHABET)
    assert displays.pairing_status(pairing.pairing_id) == {"status": "waiting"}
    # The admin may type it in lower case, with a space instead of the dash.
    displays.confirm_pairing(display, pairing.code.lower().replace("-", " "))
    state = displays.pairing_status(pairing.pairing_id)
    assert state["status"] == "paired" and state["device"] == display.pk
    assert state["name"] == "Ward 3 corridor" and len(state["secret"]) >= 60
    assert displays.pairing_status(pairing.pairing_id) is None  # collected: gone
    # Stored only as a digest.
    display.refresh_from_db()
    assert display.secret_hash == displays.digest(state["secret"]) != state["secret"]
    # A code is used once.
    with pytest.raises(displays.PairingNotFound):
        displays.confirm_pairing(display, pairing.code)


def test_unknown_and_expired_codes_are_refused(display, settings, monkeypatch):
    with pytest.raises(displays.PairingNotFound):
        displays.confirm_pairing(display, "ABC-234")
    pairing = displays.start_pairing()
    from django.core.cache import cache

    cache.clear()  # what the cache does when DASHBOARD_DISPLAY_PAIRING_SECONDS have passed
    with pytest.raises(displays.PairingNotFound):
        displays.confirm_pairing(display, pairing.code)
    assert displays.pairing_status(pairing.pairing_id) is None


def test_the_credential_buys_short_lived_tokens_and_slides(display, settings):
    settings.DASHBOARD_DISPLAY_TOKEN_MINUTES = 2
    settings.DASHBOARD_DISPLAY_IDLE_DAYS = 1
    secret = paired(display)
    token, expires_at, _ = displays.exchange(display.pk, secret)
    lifetime = expires_at - timezone.now()
    assert dt.timedelta(seconds=100) < lifetime <= dt.timedelta(minutes=2)
    claims = AccessToken(token)
    assert claims["kind"] == "display" and claims["display"] == display.pk
    # Used within the idle limit, again and again: it never lapses.
    for days_ago in (0.9, 0.9, 0.9):
        DisplayDevice.objects.filter(pk=display.pk).update(
            last_seen_at=timezone.now() - dt.timedelta(days=days_ago)
        )
        displays.exchange(display.pk, secret)
    # Unused longer than the limit: lapsed.
    DisplayDevice.objects.filter(pk=display.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(days=1.1)
    )
    with pytest.raises(displays.DisplayRefused) as refused:
        displays.exchange(display.pk, secret)
    assert refused.value.code == displays.CREDENTIAL_EXPIRED


@pytest.mark.parametrize(
    "device, secret",
    [(None, "x"), ("1", "x"), (True, "x"), (1, ""), (1, 5), (1, "x" * 200)],
)
def test_malformed_credentials_are_refused(device, secret):
    with pytest.raises(displays.DisplayRefused):
        displays.exchange(device, secret)


def test_a_wrong_or_replaced_secret_is_refused(display):
    first = paired(display)
    with pytest.raises(displays.DisplayRefused):
        displays.exchange(display.pk, first + "x")
    second = paired(display)  # paired again: the first screen's credential is dead
    with pytest.raises(displays.DisplayRefused):
        displays.exchange(display.pk, first)
    displays.exchange(display.pk, second)


def test_a_display_sees_like_a_viewer_of_its_departments_and_never_acts(display):
    paired(display)
    access = access_for(get_user_model().objects.get(pk=display.user_id))
    assert access.kind == "display" and access.is_display
    assert access.username == "Ward 3 corridor"
    assert access.level == Level.VIEWER and access.departments == {"ER"}
    assert "revenue" not in access.live_metrics
    assert not access.may_acknowledge and not access.can_acknowledge("ER")
    assert not access.may_view_instances
    display.read_only = False
    display.save()
    access = access_for(get_user_model().objects.get(pk=display.user_id))
    assert "revenue" in access.live_metrics
    assert not access.may_acknowledge and not access.can_acknowledge("ER")


def test_revoking_stops_the_credential_tokens_and_tickets(display, announced):
    secret = paired(display)
    token, expires_at, _ = displays.exchange(display.pk, secret)
    assert validate_access_token(token).ok
    ticket, _ = issue_ticket(display.user_id, expires_at)
    displays.revoke([display])
    assert announced[-1] == [display.user_id]
    with pytest.raises(displays.DisplayRefused):
        displays.exchange(display.pk, secret)
    assert validate_access_token(token).error == "user_inactive"
    assert redeem_ticket(ticket).error == "user_inactive"


# --- over HTTP --------------------------------------------------------------------------------
def test_pairing_and_token_endpoints(api, display):
    started = api.post("/api/auth/display/pairing/", {}, format="json")
    assert started.status_code == 201
    body = started.json()
    assert api.post(
        "/api/auth/display/pairing/status/", {"pairing": body["pairing"]}, format="json"
    ).json() == {"status": "waiting"}
    displays.confirm_pairing(display, body["code"])
    status = api.post(
        "/api/auth/display/pairing/status/", {"pairing": body["pairing"]}, format="json"
    )
    credential = status.json()
    assert credential["status"] == "paired" and credential["device"] == display.pk
    again = api.post(
        "/api/auth/display/pairing/status/", {"pairing": body["pairing"]}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (404, "pairing_not_found")
    token = api.post(
        "/api/auth/display/token/",
        {"device": credential["device"], "secret": credential["secret"]},
        format="json",
    )
    assert token.status_code == 200 and token.json()["name"] == "Ward 3 corridor"
    access = token.json()["access"]
    # The page needs a ticket; nothing else of the REST API is a display's.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.post("/api/auth/ticket/", {}, format="json").status_code == 200
    refused = api.get("/api/metrics/snapshot/")
    assert (refused.status_code, refused.json()["code"]) == (403, "display_not_allowed")
    assert api.get("/api/instances/").json()["code"] == "display_not_allowed"
    api.credentials()
    wrong = api.post(
        "/api/auth/display/token/", {"device": display.pk, "secret": "nope"}, format="json"
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credential")


def test_pairing_codes_are_rate_limited_per_address(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "display_pairing": "3/min",
        },
    }
    from django.core.cache import cache

    cache.clear()
    codes = [api.post("/api/auth/display/pairing/", {}, format="json") for _ in range(4)]
    assert [c.status_code for c in codes] == [201, 201, 201, 429]
    assert codes[-1].json()["code"] == "throttled"


def test_a_display_cannot_sign_in_anywhere_with_a_password(api, display):
    paired(display)
    user = get_user_model().objects.get(pk=display.user_id)
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    refused = api.post(
        "/api/auth/token/", {"username": user.username, "password": ""}, format="json"
    )
    assert refused.status_code in (400, 401)
    # Even with a session forced on it, Django admin turns it away.
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302


# --- Django admin -------------------------------------------------------------------------------
@pytest.fixture
def superadmin(db):
    return get_user_model().objects.create_superuser("root", password="pw-root")


def test_only_super_admins_manage_displays(make_user, superadmin):
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.set(
        __import__("django.contrib.auth.models", fromlist=["Permission"]).Permission.objects.filter(
            codename__endswith="displaydevice"
        )
    )
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/accounts/displaydevice/").status_code == 403
    client.force_login(superadmin)
    assert client.get("/admin/accounts/displaydevice/").status_code == 200


def test_admin_registers_pairs_lists_and_revokes(superadmin, departments, announced):
    client = Client()
    client.force_login(superadmin)
    added = client.post(
        "/admin/accounts/displaydevice/add/",
        {"name": "Lobby", "departments": ["ER", "CARD"], "read_only": "on", "active": "on"},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    device = DisplayDevice.objects.get(name="Lobby")
    assert device.user.username.startswith("display.") and not device.paired
    # Listed as a display, not among users.
    listing = client.get("/admin/accounts/displaydevice/").content.decode()
    assert "Lobby" in listing and "Display" in listing and "Pair with a code" in listing
    users = client.get("/admin/auth/user/").content.decode()
    assert device.user.username not in users
    # Paired by code.
    pairing = displays.start_pairing()
    wrong = client.post(f"/admin/accounts/displaydevice/{device.pk}/pair/", {"code": "ZZZ-ZZZ"})
    assert "No screen shows that code" in wrong.content.decode()
    right = client.post(f"/admin/accounts/displaydevice/{device.pk}/pair/", {"code": pairing.code})
    assert right.status_code == 302
    device.refresh_from_db()
    assert device.paired
    # Revoked by unticking "active" on its page.
    announced.clear()
    revoked = client.post(
        f"/admin/accounts/displaydevice/{device.pk}/change/",
        {"name": "Lobby", "departments": ["ER"], "read_only": "on"},
    )
    assert revoked.status_code == 302, revoked.content.decode()[:2000]
    device.refresh_from_db()
    assert not device.active and not device.paired
    assert [device.user_id] in announced
    assert not get_user_model().objects.get(pk=device.user_id).is_active


def test_the_admin_action_revokes_and_delete_removes_the_internal_user(
    superadmin, display, announced
):
    paired(display)
    client = Client()
    client.force_login(superadmin)
    client.post(
        "/admin/accounts/displaydevice/",
        {"action": "revoke_displays", "_selected_action": [display.pk]},
    )
    display.refresh_from_db()
    assert not display.active and not display.paired
    client.post(f"/admin/accounts/displaydevice/{display.pk}/delete/", {"post": "yes"})
    assert not DisplayDevice.objects.filter(pk=display.pk).exists()
    assert not get_user_model().objects.filter(pk=display.user_id).exists()
