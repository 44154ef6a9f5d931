"""Fixtures for the metric tests: clean cache layers and breakers, dashboard users, an API client."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import DashboardProfile, Department
from accounts.policy import Access
from metrics import cache
from runtime.breakers import mongodb_breaker, redis_breaker

COLLECTIONS = ("departments", "patients", "appointments", "rooms", "bills", "workflows", "staff")


@pytest.fixture(autouse=True)
def clean_layers():
    """No value or open circuit survives from one test to the next."""
    reset()
    yield
    reset()


def reset() -> None:
    cache.clear_local()
    for breaker in (mongodb_breaker, redis_breaker):
        if breaker.current_state != "closed":
            breaker.close()


@pytest.fixture
def make_user(db):
    """make_user(name, level, departments=()): a user with a dashboard profile (level None: none)."""

    def make(username: str, level: str | None, departments=()):
        user = get_user_model().objects.create_user(username=username, password="x")
        if level is not None:
            profile = DashboardProfile.objects.create(user=user, level=level)
            profile.departments.set(
                [
                    Department.objects.get_or_create(code=code, defaults={"name": code})[0]
                    for code in departments
                ]
            )
        return user

    return make


@pytest.fixture
def client_for():
    """client_for(user): an API client sending that user's access token."""

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return client

    return make


def empty_store(db) -> None:
    for name in COLLECTIONS:
        db[name].delete_many({})


def admit(db, department: str | None = "ER", n: int = 1) -> None:
    db.patients.insert_many(
        [{"isActive": True, "status": "admitted", "departmentId": department} for _ in range(n)]
    )


def viewer(departments=()) -> Access:
    return Access(user_id=1, username="viewer", level="viewer", departments=frozenset(departments))
