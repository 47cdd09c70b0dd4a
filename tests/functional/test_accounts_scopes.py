"""ACC-9 (with SEC-4, ACC-5): an API key does only what its scopes allow, and account-level routes
never answer a key. The matrix is generated from the app's own route list, so a new route cannot
be forgotten: it fails the declaration test until the access table names it."""

from __future__ import annotations

import re

import pytest

from chalicelib.api.access import ROUTE_ACCESS
from chalicelib.domain.accounts.api_keys import SCOPES
from chalicelib.domain.accounts.authorizer import SIGNED_IN, USER_LEVEL
from tests.support.auth import post_json, sign_up, stored_user
from tests.support.mail import allow_sending
from tests.support.workflows import state_machines, wait_for_executions

# Named by the issue and by ACC-9: whatever a key's scopes, these never answer it.
ACCOUNT_LEVEL = [
    ("DELETE", "/me"),
    ("POST", "/me/exports"),
    ("GET", "/me/exports/{export_id}"),
    ("PUT", "/me/password"),
    ("PATCH", "/me"),
    ("GET", "/me/api-keys"),
    ("POST", "/me/api-keys"),
    ("DELETE", "/me/api-keys/{key_id}"),
    ("GET", "/me/consents"),
    ("POST", "/me/consents"),
    ("PUT", "/me/processing"),
    ("PUT", "/me/telegram"),
    ("DELETE", "/me/telegram"),
    ("GET", "/me/requests"),
    ("POST", "/me/requests"),
    ("POST", "/auth/logout-everywhere"),
]
ACCESS_REFUSALS = {"scope_missing", "session_required", "route_undeclared"}


@pytest.fixture
def profile_name():
    return "pixelrender"


def _app_routes() -> list[tuple[str, str]]:
    from app import app

    return sorted((method, path) for path, methods in app.routes.items() for method in methods)


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "fal" if m.group(1) == "provider" else "x0000000000", path)


def _call(client, method: str, path: str, headers: dict):
    return client.http.request(method, _fill(path), body=b"{}", headers={"Content-Type": "application/json", **headers})


def _refused_for_access(response) -> bool:
    if response.status_code != 403:
        return False
    return (response.json_body.get("error", {}).get("details") or {}).get("reason") in ACCESS_REFUSALS


def test_acc9_every_route_of_the_app_declares_what_it_asks_of_a_caller():
    assert sorted(ROUTE_ACCESS) == _app_routes()


def test_acc9_account_level_routes_are_for_signed_in_people_only():
    assert {route: ROUTE_ACCESS.get(route) for route in ACCOUNT_LEVEL} == dict.fromkeys(ACCOUNT_LEVEL, SIGNED_IN)


@pytest.fixture
def workflows(aws, monkeypatch):
    """Export and erasure really start: a route that slips through does what it would in AWS."""
    with state_machines(aws, monkeypatch):
        yield
        wait_for_executions()


def test_acc9_every_route_times_every_scope_and_a_session(client, aws, workflows):
    """Each single-scope key reaches exactly the routes that ask for its scope (and public ones);
    a session reaches every route. A route the table forgot is refused to everyone."""
    allow_sending(aws)
    owner = sign_up(client)
    keys = {
        scope: post_json(client, "/me/api-keys", {"name": scope, "scopes": [scope]}, owner.headers).json_body["key"]
        for scope in sorted(SCOPES)
    }
    wrong = []
    for method, path in _app_routes():
        needs = ROUTE_ACCESS.get((method, path))
        for scope, key in keys.items():
            response = _call(client, method, path, {"X-Api-Key": key})
            assert response.status_code < 500, (method, path, scope, response.body)
            expected_refusal = needs is None or (needs in USER_LEVEL and needs != scope)
            if _refused_for_access(response) != expected_refusal:
                wrong.append((method, path, scope, response.status_code))
    # Sessions last, each on its own account: some of these routes sign out or erase.
    for method, path in _app_routes():
        response = _call(client, method, path, stored_user().headers)
        assert response.status_code < 500, (method, path, "session", response.body)
        if _refused_for_access(response) != (ROUTE_ACCESS.get((method, path)) is None):
            wrong.append((method, path, "session", response.status_code))
    assert wrong == []


def test_acc9_a_usage_key_cannot_read_the_account_export_upload_or_erase(client, aws, workflows):
    """The issue's reproduction: a key created with {"scopes": ["usage"]}."""
    allow_sending(aws)
    owner = sign_up(client)
    key = post_json(client, "/me/api-keys", {"scopes": ["usage"]}, owner.headers).json_body["key"]
    headers = {"X-Api-Key": key}
    assert client.http.get("/me", headers=headers).status_code == 403
    assert post_json(client, "/me/exports", {}, headers).status_code == 403
    assert post_json(client, "/uploads", {"content_type": "image/png"}, headers).status_code == 403
    refused = client.http.delete("/me", headers=headers)
    assert refused.status_code == 403
    assert refused.json_body["error"]["details"]["reason"] == "session_required"
    assert client.http.get("/me", headers=owner.headers).json_body["user_id"] == owner.user_id
    assert client.http.get("/me/ledger", headers=headers).status_code == 200
