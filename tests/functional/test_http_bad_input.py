"""Inputs that used to reach a 500 get a 400 in the one error shape, and leave nothing behind:
JSON nested 100,000 deep on every route that reads a body, e-mail addresses SES refuses on every
route that takes one, and path ids thousands of characters long."""

from __future__ import annotations

import re

import pytest

from tests.support.auth import stored_user
from tests.support.mail import allow_sending, sent_emails
from tests.support.workflows import state_machines, wait_for_executions

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
# Pass the old pattern `^[^@\s]+@[^@\s]+\.[^@\s]+$`; SES refuses them (not RFC 5321 mailboxes).
UNSENDABLE_ADDRESSES = [
    "<@x.example",
    ",@x.example",
    "jöhn@x.example",
    "a,b@x.example",
    "a..b@x.example",
    ".a@x.example",
    "a@x..example",
    "a@-x.example",
    "a@x.example>",
    '"quoted"@x.example',
    "a@x.exa\u00a0mple",
]
ADDRESS_ROUTES = {
    "/auth/email/code": {},
    "/auth/email/verify": {"code": "12345678"},
    "/auth/password/sign-up": {"password": "correct horse battery staple", "birth_date": "1990-01-01"},
    "/auth/password/sign-in": {"password": "correct horse battery staple"},
    "/requests": {"kind": "access"},
    "/contact": {"subject": "Hello", "body": "A message."},
}


@pytest.fixture
def profile_name():
    return "pixera"  # passwords and e-mail codes both on


def _routes() -> list[tuple[str, str]]:
    from app import app

    return sorted((method, path) for path, methods in app.routes.items() for method in methods)


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "fal" if m.group(1) == "provider" else value, path)


def _assert_one_shape_400(response, where) -> None:
    assert response.status_code == 400, (where, response.status_code, response.body)
    assert response.json_body["error"]["code"] == "invalid_input", where


def _stored_items(session) -> dict[str, int]:
    dynamodb = session.client("dynamodb")
    counts = {name: dynamodb.scan(TableName=name)["Count"] for name in dynamodb.list_tables()["TableNames"]}
    return {name: count for name, count in counts.items() if count}


def _send(client, operator, method: str, path: str, body: bytes, headers: dict):
    """Operator routes signed as an operator (SigV4), the others as they come."""
    if path.startswith("/operator/"):
        return operator.request(method, path, body, headers=headers)
    return client.http.request(method, path, body=body, headers=headers)


def test_json_nested_100000_deep_is_a_400_on_every_route_that_reads_a_body(client, operator, aws, monkeypatch):
    """Every route that takes a body, signed in (and as an operator), each caller on its own account:
    a route that reads the body refuses it; one that reads none (DELETE /me) just does its work."""
    refused = []
    with state_machines(aws, monkeypatch):
        for method, path in _routes():
            if method == "GET":
                continue
            headers = stored_user().headers
            response = _send(client, operator, method, _fill(path, "x0000000000"), DEEP_JSON, headers)
            assert response.status_code < 500, (method, path, response.body)
            if response.status_code == 400 and "nested" in response.json_body["error"]["message"]:
                refused.append((method, path))
        wait_for_executions()
    assert ("POST", "/auth/email/code") in refused
    assert ("PATCH", "/me") in refused
    assert ("POST", "/operator/requests/{request_id}") in refused


@pytest.mark.parametrize("address", UNSENDABLE_ADDRESSES)
def test_an_address_ses_refuses_is_a_400_on_every_route_that_takes_one_and_nothing_is_written(client, aws, address):
    import json

    allow_sending(aws)
    for path, rest in ADDRESS_ROUTES.items():
        response = client.http.post(
            path, body=json.dumps({"email": address, **rest}), headers={"Content-Type": "application/json"}
        )
        _assert_one_shape_400(response, path)
        fields = [f["field"] for f in response.json_body["error"]["details"]["fields"]]
        assert fields == ["email"], (path, fields)
    assert _stored_items(aws) == {}
    assert sent_emails() == []


def test_ordinary_addresses_still_pass(client, aws):
    import json

    allow_sending(aws)
    for address in ("ann@example.com", "Ann.O'Neil+tag@sub.example.co.uk", "x_y-z@a1.example"):
        response = client.http.post(
            "/auth/email/code", body=json.dumps({"email": address}), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 202, (address, response.body)


def test_a_path_id_of_3000_characters_is_a_400_on_every_route(client, operator, aws):
    """The operator's 3,000-character request id, and every other path id, are refused up front."""
    signed = stored_user()
    headers = {**signed.headers, "Content-Type": "application/json"}
    for method, path in _routes():
        if "{" not in path:
            continue
        response = _send(client, operator, method, _fill(path, "a" * 3000), b"{}", headers)
        _assert_one_shape_400(response, (method, path))
