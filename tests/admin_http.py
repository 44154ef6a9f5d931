"""Django admin over real HTTP: a staff session with its CSRF token, change forms read and posted.

What a browser does without JavaScript: log in through the admin's login
form, read a change page's form as it would be posted back, change some
fields and post it.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
from html.parser import HTMLParser

SKIPPED_INPUTS = {"submit", "button", "image", "reset", "file"}


class FormFields(HTMLParser):
    """The fields a browser would post from the form with id `form_id`, in page order."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.fields: list[tuple[str, str]] = []
        self._inside = False
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._inside = attributes.get("id") == self.form_id
        if not self._inside or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.fields.append((name, attributes.get("value") or "on"))
            elif kind not in SKIPPED_INPUTS:
                self.fields.append((name, attributes.get("value") or ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields.append((self._select, attributes.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the newline right after <textarea>.
            text = "".join(self._text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def form_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    reader = FormFields(form_id)
    reader.feed(html)
    return reader.fields


class AdminSession:
    """A logged-in Django admin session (cookies and CSRF token) on a running server."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[str, str]:
        """GET a page: (final URL after redirects, body)."""
        with self.opener.open(self.base_url + path, timeout=self.timeout) as response:
            return response.geturl(), response.read().decode()

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> tuple[str, str]:
        """POST a form (urlencoded, redirects followed): (final URL, body)."""
        body = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method="POST")
        with self.opener.open(request, timeout=self.timeout) as response:
            return response.geturl(), response.read().decode()

    def login(self, username: str, password: str) -> None:
        """Through the admin's own login form (its CSRF token included)."""
        _, page = self.get("/admin/login/?next=/admin/")
        fields = dict(form_fields(page, "login-form"))
        fields.update({"username": username, "password": password})
        url, _ = self.post_form("/admin/login/?next=/admin/", list(fields.items()))
        if not url.endswith("/admin/"):
            raise AssertionError(f"admin login as {username!r} failed (ended at {url})")

    def change_form(self, path: str, form_id: str) -> list[tuple[str, str]]:
        """A change page's form as a browser would post it back unchanged."""
        _, page = self.get(path)
        return form_fields(page, form_id)


PROFILE_LEVEL, PROFILE_DEPARTMENTS = "dashboard_profile-0-level", "dashboard_profile-0-departments"


def user_id(admin: AdminSession, username: str) -> int:
    """A user's id, from the admin's user list searched for its name."""
    _, page = admin.get("/admin/auth/user/?q=" + urllib.parse.quote(username))
    match = re.search(rf'href="/admin/auth/user/(\d+)/change/[^"]*">{re.escape(username)}<', page)
    if match is None:
        raise AssertionError(f"no user {username!r} in the admin's user list")
    return int(match.group(1))


def save_user_access(
    admin: AdminSession,
    user: int,
    *,
    level: str | None = None,
    departments: list[str] | None = None,
    active: bool | None = None,
) -> None:
    """The user's change page posted back with its level, departments or active flag changed,
    as an operator saves it."""
    path = f"/admin/auth/user/{user}/change/"
    fields = admin.change_form(path, "user_form")
    if level is not None:
        fields = [f for f in fields if f[0] != PROFILE_LEVEL] + [(PROFILE_LEVEL, level)]
    if departments is not None:
        fields = [f for f in fields if f[0] != PROFILE_DEPARTMENTS]
        fields += [(PROFILE_DEPARTMENTS, code) for code in departments]
    if active is not None:
        fields = [f for f in fields if f[0] != "is_active"] + (
            [("is_active", "on")] if active else []
        )
    url, page = admin.post_form(path, [*fields, ("_save", "Save")])
    if not url.endswith("/admin/auth/user/"):
        raise AssertionError(f"the save of user {user} was refused:\n{page[-3000:]}")
