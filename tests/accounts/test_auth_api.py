"""The token endpoints: login, refresh with rotation, logout; every error JSON with a stable code."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import DashboardProfile

from .conftest import PASSWORD
from .forgery import FORGERIES, claims_of

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"


def post(api, url, body, **extra):
    return api.post(url, body, format="json", **extra)


def login(api, username, password=PASSWORD, **extra):
    return post(api, TOKEN, {"username": username, "password": password}, **extra)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture
def viewer(make_user):
    return make_user("vera", level="viewer", departments=["ER"])


# --- login -----------------------------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token_with_the_dashboard_claims(api, make_user):
    make_user("ada", level="admin", departments=["ICU", "CARD"])

    response = login(api, "ada")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    claims = claims_of(body["access"])
    assert (claims["username"], claims["level"], claims["departments"]) == (
        "ada",
        "admin",
        ["CARD", "ICU"],
    )
    assert claims_of(body["refresh"])["token_type"] == "refresh"


def test_unknown_user_wrong_password_and_inactive_user_get_the_same_answer(api, make_user, viewer):
    make_user("sleepy", level="viewer", active=False)

    answers = [
        login(api, "nobody"),
        login(api, "vera", "wrong-password"),
        login(api, "sleepy"),
    ]

    for response in answers:
        assert_error(response, 401, "invalid_credentials")
    assert len({json.dumps(r.json(), sort_keys=True) for r in answers}) == 1


@pytest.mark.parametrize("profile", ["none", "blank level"])
def test_a_valid_login_without_a_level_is_refused_with_no_dashboard_access(api, make_user, profile):
    make_user("staffer", level=None if profile == "none" else "")

    assert_error(login(api, "staffer"), 403, "no_dashboard_access")


def test_a_stale_authorization_header_does_not_get_in_the_way_of_logging_in(api, viewer):
    response = login(api, "vera", HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"username": "vera", "password": ', "application/json", 400, "parse_error"),
        ("not json at all", "application/json", 400, "parse_error"),
        ('{"username": "vera"}', "application/json", 400, "required"),
        ('{"password": "x"}', "application/json", 400, "required"),
        ("{}", "application/json", 400, "invalid"),
        ("", "application/json", 400, "invalid"),
        ('["vera", "x"]', "application/json", 400, "invalid"),
        ("null", "application/json", 400, "null"),
        ('{"username": ["vera"], "password": "x"}', "application/json", 400, "invalid"),
        (
            '{"username": "vera", "password": "%s"}' % ("p" * 5000),
            "application/json",
            400,
            "max_length",
        ),
        (
            "username=vera&password=x",
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
    ],
)
def test_bad_login_requests_get_a_json_error_with_a_code(
    api, viewer, body, content_type, status, code
):
    response = api.post(TOKEN, body, content_type=content_type)

    assert_error(response, status, code)


def test_the_token_endpoint_only_accepts_post(api):
    assert_error(api.get(TOKEN), 405, "method_not_allowed")


# --- refresh -----------------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_stops_working(api, viewer):
    first = login(api, "vera").json()

    rotated = post(api, REFRESH, {"refresh": first["refresh"]})

    assert rotated.status_code == 200
    pair = rotated.json()
    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != first["refresh"]
    assert claims_of(pair["access"])["username"] == "vera"
    assert_error(post(api, REFRESH, {"refresh": first["refresh"]}), 401, "invalid_token")
    assert post(api, REFRESH, {"refresh": pair["refresh"]}).status_code == 200


def test_refresh_issues_claims_from_the_database_not_from_the_old_token(api, viewer):
    refresh = login(api, "vera").json()["refresh"]
    DashboardProfile.objects.filter(user=viewer).update(level="admin")
    viewer.dashboard_profile.departments.set(["ICU", "CARD"])

    access = post(api, REFRESH, {"refresh": refresh}).json()["access"]

    assert (claims_of(access)["level"], claims_of(access)["departments"]) == (
        "admin",
        ["CARD", "ICU"],
    )


def test_refresh_for_a_deactivated_user_is_refused(api, viewer):
    refresh = login(api, "vera").json()["refresh"]
    viewer.is_active = False
    viewer.save()

    assert_error(post(api, REFRESH, {"refresh": refresh}), 401, "user_inactive")


def test_refresh_for_a_user_who_lost_its_level_is_refused(api, viewer):
    refresh = login(api, "vera").json()["refresh"]
    DashboardProfile.objects.filter(user=viewer).update(level="")

    assert_error(post(api, REFRESH, {"refresh": refresh}), 403, "no_dashboard_access")


def test_refresh_for_a_deleted_user_is_refused(api, viewer):
    refresh = login(api, "vera").json()["refresh"]
    viewer.delete()

    assert_error(post(api, REFRESH, {"refresh": refresh}), 401, "invalid_token")


def test_an_expired_refresh_token_is_refused_as_expired(api, viewer):
    token = RefreshToken.for_user(viewer)
    token.set_exp(from_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))

    assert_error(post(api, REFRESH, {"refresh": str(token)}), 401, "token_expired")


def test_an_access_token_is_not_a_refresh_token(api, viewer):
    access = login(api, "vera").json()["access"]

    assert_error(post(api, REFRESH, {"refresh": access}), 401, "invalid_token")


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_or_altered_refresh_token_is_refused(api, viewer, make_user, forge):
    make_user("root", level="super_admin")
    refresh = login(api, "vera").json()["refresh"]

    assert_error(post(api, REFRESH, {"refresh": forge(refresh)}), 401, "invalid_token")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "required"),
        ({"refresh": ""}, 400, "blank"),
        ({"refresh": 12}, 401, "invalid_token"),
        ({"refresh": "x" * 10000}, 401, "invalid_token"),
    ],
)
def test_bad_refresh_requests_get_a_json_error(api, body, status, code):
    assert_error(post(api, REFRESH, body), status, code)


# --- logout --------------------------------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token(api, viewer):
    refresh = login(api, "vera").json()["refresh"]

    response = post(api, LOGOUT, {"refresh": refresh})

    assert response.status_code == 204
    assert_error(post(api, REFRESH, {"refresh": refresh}), 401, "invalid_token")


def test_logout_with_an_invalid_token_is_refused(api):
    assert_error(post(api, LOGOUT, {"refresh": "not.a.token"}), 401, "invalid_token")
    assert_error(post(api, LOGOUT, {}), 400, "required")


# --- throttling ------------------------------------------------------------------------------------------


@pytest.fixture
def rates(settings):
    def set_rates(ip="1000/min", user="1000/min"):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"login_ip": ip, "login_user": user},
        }

    return set_rates


def test_one_address_is_throttled_after_its_quota_whatever_the_usernames(api, viewer, rates):
    rates(ip="3/min")
    for name in ("a", "b", "c"):
        assert login(api, name, REMOTE_ADDR="10.0.0.1").status_code == 401

    throttled = login(api, "vera", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")

    body = assert_error(throttled, 429, "throttled")
    assert isinstance(body["retryAfter"], int) and 0 < body["retryAfter"] <= 60
    assert int(throttled["Retry-After"]) == body["retryAfter"]
    assert login(api, "vera", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_one_username_is_throttled_after_its_quota_from_any_address(api, viewer, make_user, rates):
    rates(user="2/min")
    make_user("other", level="viewer")
    assert login(api, "vera", "wrong", REMOTE_ADDR="10.0.0.1").status_code == 401
    assert login(api, " VERA ", "wrong", REMOTE_ADDR="10.0.0.2").status_code == 401

    throttled = login(api, "vera", REMOTE_ADDR="10.0.0.3")

    body = assert_error(throttled, 429, "throttled")
    assert body["retryAfter"] > 0
    assert login(api, "other", REMOTE_ADDR="10.0.0.3").status_code == 200


def test_the_default_rates_come_from_the_settings(api, viewer, settings):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login_user"].split("/")[0])
    for _ in range(limit):
        assert login(api, "vera", "wrong").status_code == 401

    assert_error(login(api, "vera"), 429, "throttled")


def test_the_connecting_address_is_counted_whatever_x_forwarded_for_says(api, viewer, rates):
    # The server puts a trusted proxy's client into REMOTE_ADDR (tests/live/test_edges_servers.py);
    # the application itself never reads the header.
    rates(ip="1/min")
    proxy = {"REMOTE_ADDR": "10.0.0.254"}

    first = login(api, "vera", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    other_header = login(api, "vera", HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)

    assert first.status_code == 200
    assert_error(other_header, 429, "throttled")
    assert login(api, "vera", REMOTE_ADDR="10.0.0.253").status_code == 200
