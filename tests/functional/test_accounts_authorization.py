"""Every route under /me refuses anonymous callers and never serves or changes another user's data."""

from __future__ import annotations

import re

import pytest

from tests.support.auth import post_json, sign_up
from tests.support.mail import allow_sending


def _me_routes() -> list[tuple[str, str]]:
    """Every /me route but the public ones the route table names (the e-mailed erasure-cancel link)."""
    from app import app
    from chalicelib.api.access import ROUTE_ACCESS
    from chalicelib.domain.accounts.authorizer import PUBLIC

    return sorted(
        (method, path)
        for path, methods in app.routes.items()
        if path == "/me" or path.startswith("/me/")
        for method in methods
        if ROUTE_ACCESS[(method, path)] != PUBLIC
    )


ME_ROUTES = _me_routes()


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x0000000000"), path)


def _call(client, method: str, path: str, headers: dict | None = None):
    headers = {"Content-Type": "application/json", **(headers or {})}
    return client.http.request(method, path, body=b"{}", headers=headers)


def test_the_me_routes_are_discovered():
    assert ("GET", "/me") in ME_ROUTES
    assert ("DELETE", "/me/api-keys/{key_id}") in ME_ROUTES


def test_every_me_route_refuses_anonymous_callers(client):
    refused_wrongly = []
    for method, path in ME_ROUTES:
        response = _call(client, method, _fill(path, {}))
        # A route may validate its (empty) body before asking who calls; that refusal leaks nothing either.
        validated_first = response.status_code == 400 and response.json_body["error"]["code"] == "invalid_input"
        if not (response.status_code == 401 or validated_first):
            refused_wrongly.append((method, path, response.status_code))
    assert refused_wrongly == []


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_every_me_route_refuses_another_users_credentials(client, aws):
    """Bob's credentials on Alice's resources: nothing of Alice's is served or changed."""
    allow_sending(aws)
    alice, bob = sign_up(client), sign_up(client)
    key = post_json(client, "/me/api-keys", {"name": "alice"}, alice.headers).json_body
    before = client.http.get("/me", headers=alice.headers).json_body
    leaks = []
    for method, path in ME_ROUTES:
        response = _call(client, method, _fill(path, {"key_id": key["id"]}), bob.headers)
        text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
        if 200 <= response.status_code < 300 and any(s in text for s in (alice.user_id, alice.email, key["id"])):
            leaks.append((method, path))
    assert leaks == []
    assert client.http.get("/me", headers=alice.headers).json_body == before
    assert client.http.get("/gallery", headers={"X-Api-Key": key["key"]}).status_code == 200
    listed = client.http.get("/me/api-keys", headers=alice.headers).json_body["api_keys"]
    assert [(k["id"], k["revoked"]) for k in listed] == [(key["id"], False)]
