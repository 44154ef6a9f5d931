"""Django admin: levels and departments on the user page, filters, departments, for a staff superuser."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.forms import MultiWidget

from accounts.models import DashboardProfile, Department

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def staff(client, make_user):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    client.force_login(boss)
    return client


def form_data(response) -> dict:
    """What a browser would post back from an admin change page, unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms.append(formset.management_form)
        forms.extend(formset.forms)
    for form in forms:
        for field in form:
            if field.field.disabled:
                continue
            value = field.value()
            widget = field.field.widget
            if isinstance(widget, MultiWidget):
                for i, part in enumerate(widget.decompress(value)):
                    data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[field.html_name] = [str(v) for v in value]
            elif value is not None:
                data[field.html_name] = str(value)
    return data


def test_the_user_list_shows_levels_and_filters_by_level_and_department(staff, make_user):
    make_user("ada", level="admin", departments=["ER"])
    make_user("cleo", level="admin", departments=["CARD"])
    make_user("vera", level="viewer")
    make_user("noah")

    page = staff.get("/admin/auth/user/")
    admins = staff.get("/admin/auth/user/", {"dashboard_level": "admin"})
    no_access = staff.get("/admin/auth/user/", {"dashboard_level": "none"})
    in_er = staff.get("/admin/auth/user/", {"dashboard_profile__departments__code__exact": "ER"})
    found = staff.get("/admin/auth/user/", {"q": "vera"})

    def listed(response):
        return {user.username for user in response.context["cl"].result_list}

    assert page.status_code == 200
    assert b"dashboard level" in page.content
    assert listed(page) == {"boss", "ada", "cleo", "vera", "noah"}
    assert listed(admins) == {"ada", "cleo"}
    assert listed(no_access) == {"boss", "noah"}
    assert listed(in_er) == {"ada"}
    assert listed(found) == {"vera"}


def test_the_user_page_edits_level_and_departments_and_marks_the_change(staff, make_user):
    ada = make_user("ada", level="viewer", departments=["ER"])
    DashboardProfile.objects.filter(user=ada).update(
        updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    url = f"/admin/auth/user/{ada.pk}/change/"
    page = staff.get(url)
    assert page.status_code == 200
    assert b'name="dashboard_profile-0-level"' in page.content

    data = form_data(page)
    data["dashboard_profile-0-level"] = "admin"
    data["dashboard_profile-0-departments"] = ["CARD", "ICU"]
    response = staff.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    profile = DashboardProfile.objects.get(user=ada)
    assert profile.level == "admin"
    assert sorted(profile.departments.values_list("code", flat=True)) == ["CARD", "ICU"]
    assert profile.updated_at.year > 2020


def test_deactivating_a_user_in_admin_marks_its_access_as_changed(staff, make_user):
    ada = make_user("ada", level="admin", departments=["ER"])
    DashboardProfile.objects.filter(user=ada).update(
        updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    url = f"/admin/auth/user/{ada.pk}/change/"
    data = form_data(staff.get(url))
    del data["is_active"]

    response = staff.post(url, data)

    assert response.status_code == 302
    ada.refresh_from_db()
    assert not ada.is_active
    assert DashboardProfile.objects.get(user=ada).updated_at.year > 2020


def test_a_user_without_a_profile_gets_one_from_the_user_page(staff, make_user):
    noah = make_user("noah")
    url = f"/admin/auth/user/{noah.pk}/change/"
    data = form_data(staff.get(url))
    data["dashboard_profile-0-level"] = "viewer"

    response = staff.post(url, data)

    assert response.status_code == 302
    assert DashboardProfile.objects.get(user=noah).level == "viewer"


def test_a_new_user_can_be_added_with_its_level(staff, departments):
    response = staff.post(
        "/admin/auth/user/add/",
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": "a-long-unusual-password",
            "password2": "a-long-unusual-password",
            "dashboard_profile-TOTAL_FORMS": "1",
            "dashboard_profile-INITIAL_FORMS": "0",
            "dashboard_profile-MIN_NUM_FORMS": "0",
            "dashboard_profile-MAX_NUM_FORMS": "1",
            "dashboard_profile-0-level": "admin",
            "dashboard_profile-0-departments": ["ER"],
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    newbie = User.objects.get(username="newbie")
    assert newbie.check_password("a-long-unusual-password")
    assert newbie.dashboard_profile.level == "admin"
    assert list(newbie.dashboard_profile.departments.values_list("code", flat=True)) == ["ER"]


def test_departments_are_listed_searched_added_and_renamed(staff, departments):
    assert staff.get("/admin/accounts/department/").status_code == 200
    found = staff.get("/admin/accounts/department/", {"q": "cardio"})
    assert [d.code for d in found.context["cl"].result_list] == ["CARD"]
    assert staff.get("/admin/accounts/department/add/").status_code == 200

    added = staff.post("/admin/accounts/department/add/", {"code": "PED", "name": "Pediatrics"})
    renamed = staff.post("/admin/accounts/department/ER/change/", {"name": "Emergency Room"})

    assert added.status_code == 302 and renamed.status_code == 302
    assert Department.objects.get(code="PED").name == "Pediatrics"
    assert Department.objects.get(code="ER").name == "Emergency Room"


def test_a_department_code_must_look_like_a_code(staff, db):
    response = staff.post("/admin/accounts/department/add/", {"code": "not a code!", "name": "X"})

    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    assert not Department.objects.filter(name="X").exists()


def test_the_user_page_shows_dashboard_access_first_and_explains_an_empty_list(staff, make_user):
    ada = make_user("ada", level="admin", departments=["ER"])

    page = staff.get(f"/admin/auth/user/{ada.pk}/change/").content.decode()

    access = page.index('name="dashboard_profile-0-level"')
    assert access < page.index('name="username"') < page.index('name="user_permissions"')
    assert "Admin: only the departments chosen below; with none chosen, it sees nothing." in page
    assert "Viewer: read-only, no revenue; the departments chosen below, or every department" in (
        page
    )
    assert "They grant no dashboard access" in page


def test_django_permissions_on_dashboard_records_are_hidden_or_explained(staff, make_user):
    ada = make_user("ada", level="viewer")

    page = staff.get(f"/admin/auth/user/{ada.pk}/change/")

    choices = dict(page.context["adminform"].form.fields["user_permissions"].choices)
    labels = [str(label) for label in choices.values()]
    assert not [label for label in labels if "alert acknowledgement" in label.lower()]
    assert not [label for label in labels if "listener checkpoint" in label.lower()]
    ours = [label for label in labels if "dashboard access" in label]
    assert ours and all(
        label.endswith("(editing these admin pages: grants no dashboard access)") for label in ours
    )
    assert any(label.startswith("Authentication and Authorization | user |") for label in labels)
