"""Sign-ins at Django admin's login form (Django's own signals). The API's sign-ins are recorded
by its views (accounts/views.py), which know more (no level, throttled)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from rest_framework.request import Request

from .events import Actor, from_request, record


def _admin_request(request) -> bool:
    return request is not None and not isinstance(request, Request)


def logged_in(sender, request, user, **kwargs) -> None:
    if _admin_request(request):
        actor = Actor(user_id=user.pk, username=user.get_username())
        record("signin", "success", actor, from_request(request, "admin"))


def login_failed(sender, credentials, request=None, **kwargs) -> None:
    if _admin_request(request):
        tried = Actor(username=str(credentials.get("username") or ""))
        record(
            "signin", "failure", tried, from_request(request, "admin"), reason="invalid_credentials"
        )


def connect() -> None:
    user_logged_in.connect(logged_in, dispatch_uid="audit-admin-signin")
    user_login_failed.connect(login_failed, dispatch_uid="audit-admin-signin-failed")
