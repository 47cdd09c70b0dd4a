"""ACC-1: email login codes, the default sign-in for every profile."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import clock
from tests.conftest import PROFILES
from tests.support.auth import ADULT_BIRTH_DATE, sign_up
from tests.support.mail import allow_sending, last_code_for, sent_emails

JSON = {"Content-Type": "application/json"}


def _post(client, path, body, headers=None):
    return client.http.post(path, body=json.dumps(body), headers={**JSON, **(headers or {})})


@pytest.fixture
def mail(aws):
    allow_sending(aws)


@pytest.mark.parametrize("profile_name", PROFILES)
def test_acc1_sign_up_and_sign_in_by_emailed_code(client, mail):
    """Email codes are the default sign-in for every profile, whatever else it offers."""
    signed = sign_up(client)
    me = client.http.get("/me", headers=signed.headers)
    assert me.status_code == 200
    assert me.json_body["email"] == signed.email
    assert me.json_body["email_verified"] is True


def test_acc1_requesting_a_code_answers_the_same_for_known_and_unknown_addresses(client, mail):
    known = sign_up(client)
    for email in (known.email, "nobody-here@example.com"):
        response = _post(client, "/auth/email/code", {"email": email})
        assert response.status_code == 202
        assert response.json_body == {"status": "sent_if_possible"}


def test_acc1_code_is_stored_only_as_a_hash(client, mail, aws):
    from chalicelib.store.models.accounts import LoginCode

    email = "hash-check@example.com"
    _post(client, "/auth/email/code", {"email": email})
    code = last_code_for(email)
    items = list(LoginCode.scan())
    assert len(items) == 1
    assert code not in json.dumps(items[0].attribute_values, default=str)
    assert items[0].code_hash != code


def test_acc1_code_expires_after_the_profiles_minutes(client, mail, monkeypatch):
    from chalicelib import wiring

    email = "late@example.com"
    _post(client, "/auth/email/code", {"email": email})
    code = last_code_for(email)
    minutes = wiring.profile().sign_in.login_code_minutes
    later = clock.now() + timedelta(minutes=minutes, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = _post(client, "/auth/email/verify", {"email": email, "code": code, "birth_date": ADULT_BIRTH_DATE})
    assert response.status_code == 401


def test_acc1_code_dies_after_the_allowed_wrong_attempts(client, mail):
    from chalicelib import wiring

    email = "guesser@example.com"
    _post(client, "/auth/email/code", {"email": email})
    code = last_code_for(email)
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
    for _ in range(wiring.profile().sign_in.login_code_attempts):
        response = _post(client, "/auth/email/verify", {"email": email, "code": wrong, "birth_date": ADULT_BIRTH_DATE})
        assert response.status_code == 401
    response = _post(client, "/auth/email/verify", {"email": email, "code": code, "birth_date": ADULT_BIRTH_DATE})
    assert response.status_code == 401


def test_acc1_a_code_signs_in_only_once(client, mail):
    email = "once@example.com"
    _post(client, "/auth/email/code", {"email": email})
    body = {"email": email, "code": last_code_for(email), "birth_date": ADULT_BIRTH_DATE}
    assert _post(client, "/auth/email/verify", body).status_code == 200
    assert _post(client, "/auth/email/verify", body).status_code == 401


def test_acc1_the_email_carries_the_code_and_its_lifetime(client, mail):
    email = "mailbox@example.com"
    _post(client, "/auth/email/code", {"email": email})
    message = sent_emails()[-1]
    assert message["to"] == [email]
    assert last_code_for(email) in message["body"]
    assert "minutes" in message["body"]


def test_malformed_email_is_a_clear_400(client, mail):
    response = _post(client, "/auth/email/code", {"email": "not-an-address"})
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_input"
