"""Access-token checks for the WebSocket: signature, algorithm, expiry, type, and the user as it is now."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import AccessToken

from accounts import tokens
from accounts.models import DashboardProfile
from accounts.tokens import TokenCheck, issue_tokens, reload_access, validate_access_token

from .forgery import FORGERIES, claims_of, header_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(make_user):
    return make_user("ada", level="admin", departments=["ICU", "ER"])


def _access_token(user) -> str:
    return str(issue_tokens(user).access_token)


def test_an_access_token_carries_username_level_and_sorted_departments(admin_user):
    claims = jwt.decode(
        _access_token(admin_user), settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"]
    )

    assert claims["token_type"] == "access"
    assert claims["user_id"] == str(admin_user.pk)
    assert claims["username"] == "ada"
    assert claims["level"] == "admin"
    assert claims["departments"] == ["ER", "ICU"]


def test_tokens_are_signed_hs256_and_live_as_long_as_the_setting_says(admin_user):
    token = _access_token(admin_user)
    claims = claims_of(token)

    assert header_of(token)["alg"] == "HS256"
    lifetime = dt.timedelta(seconds=claims["exp"] - claims["iat"])
    assert lifetime == settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]


def test_a_valid_token_gives_the_users_access_and_its_expiry_in_utc(admin_user):
    token = _access_token(admin_user)

    check = validate_access_token(token)

    assert check.ok and check.error is None
    assert check.access.user_id == admin_user.pk
    assert check.access.username == "ada"
    assert check.access.level == "admin"
    assert check.access.departments == frozenset({"ER", "ICU"})
    assert check.expires_at.tzinfo is not None and check.expires_at.utcoffset() == dt.timedelta(0)
    assert check.expires_at.timestamp() == claims_of(token)["exp"]


def test_access_comes_from_the_database_not_from_the_claims(admin_user, departments):
    token = _access_token(admin_user)
    profile = admin_user.dashboard_profile
    profile.level = "viewer"
    profile.save()
    profile.departments.set(["NEURO"])

    check = validate_access_token(token)

    assert claims_of(token)["level"] == "admin"
    assert check.ok
    assert check.access.level == "viewer"
    assert check.access.departments == frozenset({"NEURO"})


def test_an_expired_token_is_refused_as_expired(admin_user):
    token = AccessToken.for_user(admin_user)
    token.set_exp(from_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))

    assert validate_access_token(str(token)) == TokenCheck(ok=False, error="token_expired")


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_or_altered_token_is_refused(admin_user, make_user, forge):
    make_user("root", level="super_admin")  # the next user id, whom a tampered token names

    check = validate_access_token(forge(_access_token(admin_user)))

    assert check == TokenCheck(ok=False, error="invalid_token")


def test_a_refresh_token_is_not_an_access_token(admin_user):
    refresh = issue_tokens(admin_user)

    assert validate_access_token(str(refresh)).error == "invalid_token"


@pytest.mark.parametrize("raw", ["", "not-a-jwt", "a.b.c", None, 42, {"token": "x"}, "x" * 20000])
def test_garbage_is_an_invalid_token_never_an_exception(raw):
    assert validate_access_token(raw) == TokenCheck(ok=False, error="invalid_token")


def test_a_token_for_a_deleted_user_is_refused(admin_user):
    token = _access_token(admin_user)
    admin_user.delete()

    assert validate_access_token(token).error == "invalid_token"


def test_a_deactivated_user_is_refused_as_inactive(admin_user):
    token = _access_token(admin_user)
    admin_user.is_active = False
    admin_user.save()

    check = validate_access_token(token)

    assert not check.ok and check.error == "user_inactive"


@pytest.mark.parametrize("how", ["blank level", "profile removed"])
def test_a_user_whose_level_was_removed_is_refused(admin_user, how):
    token = _access_token(admin_user)
    if how == "blank level":
        DashboardProfile.objects.filter(user=admin_user).update(level="")
    else:
        DashboardProfile.objects.filter(user=admin_user).delete()

    check = validate_access_token(token)

    assert not check.ok and check.error == "no_dashboard_access"


def test_reload_access_reads_the_current_level_departments_and_active_flag(admin_user):
    DashboardProfile.objects.filter(user=admin_user).update(level="viewer")
    admin_user.dashboard_profile.departments.set(["ER"])

    access = reload_access(admin_user.pk)

    assert (access.level, access.departments, access.is_active) == ("viewer", {"ER"}, True)
    admin_user.is_active = False
    admin_user.save()
    assert not reload_access(admin_user.pk).has_dashboard_access
    assert not reload_access(admin_user.pk).is_active


def test_reload_access_of_a_deleted_user_is_no_access_and_inactive(admin_user):
    user_id = admin_user.pk
    admin_user.delete()

    access = reload_access(user_id)

    assert access.user_id == user_id
    assert not access.is_active
    assert not access.has_dashboard_access
    assert access.visible_metrics == []


def test_a_refresh_token_rotated_twice_at_once_yields_only_one_new_pair(admin_user, monkeypatch):
    raw = str(issue_tokens(admin_user))
    checked_before_the_other_request_finished = tokens.verified_refresh_token(raw)
    tokens.rotate_refresh_token(raw)  # the other request wins
    monkeypatch.setattr(
        tokens, "verified_refresh_token", lambda _: checked_before_the_other_request_finished
    )

    with pytest.raises(AuthenticationFailed) as refused:
        tokens.rotate_refresh_token(raw)

    assert refused.value.get_codes() == "invalid_token"
