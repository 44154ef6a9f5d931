"""Requests Django refuses before any view still get the JSON error shape, never an HTML page."""

from __future__ import annotations


def test_a_host_not_allowed_gets_a_json_400(client, settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["dashboard.example"]
    response = client.get("/health/live/", HTTP_HOST="elsewhere.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "bad_request"


def test_an_unknown_path_gets_a_json_404(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
