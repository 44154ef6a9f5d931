"""create_dashboard_user and create_demo_users, from the command line's point of view."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.demo import DEMO_DEPARTMENTS
from accounts.models import Department

pytestmark = pytest.mark.django_db

User = get_user_model()


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def codes(user) -> list[str]:
    return sorted(user.dashboard_profile.departments.values_list("code", flat=True))


# --- create_dashboard_user ----------------------------------------------------------------------------


def test_creates_a_user_with_a_random_password_it_prints(departments):
    output = run("create_dashboard_user", "ada", "--level", "admin", "--departments", "ER, CARD")

    user = User.objects.get(username="ada")
    password = re.search(r"Generated password: (\S+)", output).group(1)
    assert "Created user 'ada'" in output
    assert user.check_password(password) and len(password) >= 12
    assert user.dashboard_profile.level == "admin"
    assert codes(user) == ["CARD", "ER"]


def test_creates_a_user_with_the_given_password_and_no_departments(departments):
    output = run(
        "create_dashboard_user", "vera", "--level", "viewer", "--password", "s3cret-enough"
    )

    user = User.objects.get(username="vera")
    assert user.check_password("s3cret-enough")
    assert (user.dashboard_profile.level, codes(user)) == ("viewer", [])
    assert "s3cret-enough" not in output


def test_updates_an_existing_user_and_says_so(make_user):
    make_user("ada", level="viewer", departments=["ER"])
    old_hash = User.objects.get(username="ada").password

    output = run("create_dashboard_user", "ada", "--level", "super_admin", "--departments", "ICU")

    user = User.objects.get(username="ada")
    assert "Updated existing user 'ada'" in output
    assert "Password unchanged" in output
    assert user.password == old_hash
    assert (user.dashboard_profile.level, codes(user)) == ("super_admin", ["ICU"])
    assert User.objects.filter(username="ada").count() == 1


def test_updates_an_existing_users_password_when_given(make_user):
    make_user("ada", level="viewer")

    run("create_dashboard_user", "ada", "--level", "viewer", "--password", "brand-new-pass")

    assert User.objects.get(username="ada").check_password("brand-new-pass")


def test_updating_an_inactive_user_warns_that_it_cannot_log_in(make_user):
    make_user("ada", level="viewer", active=False)

    output = run("create_dashboard_user", "ada", "--level", "admin")

    assert "inactive" in output


def test_an_existing_user_without_a_profile_gets_one(make_user):
    make_user("noah")

    run("create_dashboard_user", "noah", "--level", "viewer")

    assert User.objects.get(username="noah").dashboard_profile.level == "viewer"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "boss"], "Unknown level 'boss': choose one of super_admin, admin, viewer"),
        (["--level", "admin", "--departments", "ER,XYZ"], "Unknown department code(s): XYZ"),
        (["--level", "admin", "--password", "short"], "Password refused"),
    ],
)
def test_refuses_bad_input_with_a_clear_error_and_creates_nothing(departments, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("create_dashboard_user", "ada", *args)

    assert not User.objects.filter(username="ada").exists()


def test_refuses_an_invalid_username(departments):
    with pytest.raises(CommandError, match="Invalid username"):
        run("create_dashboard_user", "no spaces allowed", "--level", "viewer")


def test_requires_a_level(departments):
    with pytest.raises(CommandError, match="--level"):
        run("create_dashboard_user", "ada")


# --- create_demo_users ---------------------------------------------------------------------------------


DEMO_LOGINS = {
    "superadmin": ("superadmin-demo", "super_admin", []),
    "admin": ("admin-demo", "admin", ["CARD", "ER"]),
    "viewer": ("viewer-demo", "viewer", []),
}


def test_demo_users_are_refused_outside_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        run("create_demo_users")

    assert not User.objects.exists()
    assert not Department.objects.exists()


def test_demo_users_one_per_level_with_printed_passwords(settings):
    settings.DEBUG = True

    output = run("create_demo_users")

    assert [(d.code, d.name) for d in Department.objects.order_by("code")] == sorted(
        DEMO_DEPARTMENTS
    )
    for username, (password, level, departments) in DEMO_LOGINS.items():
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert (user.dashboard_profile.level, codes(user)) == (level, departments)
        assert re.search(rf"\b{username}\s+password {re.escape(password)}\s", output)
    assert User.objects.get(username="superadmin").is_superuser


def test_demo_users_with_force_outside_debug_and_twice_in_a_row(settings):
    settings.DEBUG = False
    Department.objects.create(code="ER", name="Emergency Department (renamed locally)")

    run("create_demo_users", "--force")
    User.objects.filter(username="viewer").update(is_active=False)
    run("create_demo_users", "--force")

    assert User.objects.count() == 3
    assert Department.objects.count() == 8
    assert Department.objects.get(code="ER").name == "Emergency Department (renamed locally)"
    assert User.objects.get(username="viewer").is_active
    assert User.objects.get(username="admin").check_password("admin-demo")


def test_the_demo_departments_are_the_demo_hospitals_eight():
    codes = [code for code, _ in DEMO_DEPARTMENTS]
    assert codes == ["ER", "CARD", "NEURO", "ORTHO", "PED", "ONC", "RAD", "ICU"]
    assert all(name for _, name in DEMO_DEPARTMENTS)
