"""Sessions: opaque tokens stored as hashes with a TTL, cookie mode with CSRF, bearer mode, sign-out."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import clock
from tests.support.auth import ADULT_BIRTH_DATE, post_json, sign_up
from tests.support.mail import allow_sending, last_code_for


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def _cookie_sign_in(client, email="cookie@example.com"):
    post_json(client, "/auth/email/code", {"email": email})
    body = {"email": email, "code": last_code_for(email), "birth_date": ADULT_BIRTH_DATE, "session": "cookie"}
    return post_json(client, "/auth/email/verify", body)


def _cookies(response) -> dict[str, str]:
    values = response.headers["Set-Cookie"]
    values = values if isinstance(values, list) else [values]
    return {v.split("=", 1)[0]: v for v in values}


def _cookie_header(response) -> str:
    return "; ".join(v.split(";", 1)[0] for v in _cookies(response).values())


def test_cookie_mode_sets_httponly_secure_samesite_session_and_a_csrf_cookie(client, mail):
    response = _cookie_sign_in(client)
    assert response.status_code == 200
    assert "token" not in response.json_body
    cookies = _cookies(response)
    session, csrf = cookies["pk_session"], cookies["pk_csrf"]
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in session
    assert "HttpOnly" not in csrf
    assert "Secure" in csrf
    assert client.http.get("/me", headers={"Cookie": _cookie_header(response)}).status_code == 200


def test_cookie_authenticated_state_change_needs_the_csrf_token(client, mail):
    response = _cookie_sign_in(client)
    cookie, csrf = _cookie_header(response), response.json_body["csrf_token"]
    change = json.dumps({"theme": "dark"})
    base = {"Cookie": cookie, "Content-Type": "application/json"}
    assert client.http.patch("/me", body=change, headers=base).status_code == 403
    assert client.http.patch("/me", body=change, headers={**base, "X-CSRF-Token": "forged"}).status_code == 403
    assert client.http.patch("/me", body=change, headers={**base, "X-CSRF-Token": csrf}).status_code == 200


def test_bearer_mode_needs_no_csrf_token(client, mail):
    signed = sign_up(client)
    response = client.http.patch("/me", body=json.dumps({"theme": "light"}), headers=signed.headers)
    assert response.status_code == 200


def test_session_token_is_stored_only_as_a_hash(client, mail, aws):
    from tests.support.auth import secrets_at_rest

    signed = sign_up(client)
    assert secrets_at_rest(aws, [signed.token]) == []


def test_session_expires_after_the_profiles_session_days(client, mail, monkeypatch):
    from chalicelib import wiring

    signed = sign_up(client)
    days = wiring.profile().sign_in.session_days
    later = clock.now() + timedelta(days=days, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.http.get("/me", headers=signed.headers).status_code == 401


def test_session_item_carries_a_ttl_at_the_session_lifetime(client, mail):
    from chalicelib import wiring
    from chalicelib.store.models.accounts import Session

    before = clock.now()
    signed = sign_up(client)
    (session,) = [s for s in Session.scan(Session.sk == Session.SORT_KEY) if s.user_id == signed.user_id]
    lifetime = timedelta(days=wiring.profile().sign_in.session_days)
    assert before.replace(microsecond=0) + lifetime <= session.expires_at <= clock.now() + lifetime


def test_log_out_ends_that_session_only(client, mail):
    from tests.support.auth import bearer

    first = sign_up(client, email="twice@example.com")
    post_json(client, "/auth/email/code", {"email": first.email})
    second = post_json(client, "/auth/email/verify", {"email": first.email, "code": last_code_for(first.email)})
    other_headers = bearer(second.json_body["token"])
    assert client.http.post("/auth/logout", headers=first.headers).status_code == 200
    assert client.http.get("/me", headers=first.headers).status_code == 401
    assert client.http.get("/me", headers=other_headers).status_code == 200


def test_log_out_everywhere_ends_every_session(client, mail):
    from tests.support.auth import bearer

    first = sign_up(client, email="many@example.com")
    post_json(client, "/auth/email/code", {"email": first.email})
    second = post_json(client, "/auth/email/verify", {"email": first.email, "code": last_code_for(first.email)})
    response = client.http.post("/auth/logout-everywhere", headers=first.headers)
    assert response.status_code == 200
    assert response.json_body["sessions_closed"] == 2
    assert client.http.get("/me", headers=first.headers).status_code == 401
    assert client.http.get("/me", headers=bearer(second.json_body["token"])).status_code == 401


def test_only_active_accounts_are_admitted(client, mail):
    from chalicelib import wiring

    for status in ("disabled", "erased"):
        signed = sign_up(client)
        wiring.accounts_store().set_status(signed.user_id, status)
        assert client.http.get("/me", headers=signed.headers).status_code == 401, status


def test_principal_carries_the_processing_flags(client, mail):
    """DSR-5: require_user reads restriction and objections with the user item."""
    from chalicelib import wiring
    from chalicelib.api.identity import require_user

    signed = sign_up(client)
    wiring.accounts_store().set_processing_flags(signed.user_id, restricted=True, objections={"marketing"})

    class Request:
        headers = {"authorization": signed.headers["Authorization"]}
        method = "GET"
        raw_body = b""
        context = {"httpMethod": "GET", "resourcePath": "/me"}

    principal = require_user(Request())
    assert principal.user_id == signed.user_id
    assert principal.via == "session"
    assert principal.restricted is True
    assert principal.objections == frozenset({"marketing"})


def test_missing_or_invalid_credentials_are_refused(client, mail):
    for headers in (
        {},
        {"Authorization": "Bearer not-a-session"},
        {"Authorization": "Basic abc"},
        {"Cookie": "pk_session=nope"},
        {"X-Api-Key": "pk_0123456789_" + "x" * 43},
    ):
        response = client.http.get("/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json_body["error"]["code"] == "unauthenticated"
