"""The Django admin's login, under the same limits as the API's (accounts/throttling.py).

Both doors lead to the same accounts, so an attempt at `/admin/login/` counts
in the same places as one at `/api/auth/token/`: the client address and the
normalised username, in the same cache keys. Failures at one add up with
failures at the other. Over a limit the form is not checked at all (no
password is tried) and the answer is 429 with Retry-After, in plain text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from .audit_trail import admin_throttled
from .throttling import login_wait


def admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The admin site's login view, a POST counted first."""
    if request.method == "POST":
        # DRF's request reads the posted form as `data`, where the throttles find the username.
        attempt = Request(request, parsers=[FormParser(), MultiPartParser()])
        wait = login_wait(attempt)
        if wait is not None:
            data = attempt.data
            tried = data.get("username") if isinstance(data, Mapping) else None
            admin_throttled(request, str(tried or ""))
            seconds = max(1, math.ceil(wait))
            response = HttpResponse(
                f"Too many login attempts. Try again in {seconds} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(seconds)
            return response
    return admin.site.login(request, extra_context)
