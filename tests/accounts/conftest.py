"""Dashboard users for the accounts tests, made through the models (not the code under test)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.models import DashboardProfile, Department

PASSWORD = "correct-horse-battery"
DEPARTMENTS = {
    "ER": "Emergency",
    "CARD": "Cardiology",
    "NEURO": "Neurology",
    "ICU": "Intensive Care",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def departments(db):
    return [Department.objects.create(code=code, name=name) for code, name in DEPARTMENTS.items()]


@pytest.fixture
def make_user(db, departments):
    """make_user(name, level=..., departments=(...), active=True): a user with an optional profile."""

    def make(username, level=None, departments=(), active=True, **extra):
        user = get_user_model().objects.create_user(
            username=username, password=PASSWORD, is_active=active, **extra
        )
        if level is not None:
            profile = DashboardProfile.objects.create(user=user, level=level)
            profile.departments.set(departments)
        return user

    return make


@pytest.fixture
def api():
    return APIClient()
