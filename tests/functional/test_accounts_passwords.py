"""ACC-2: password sign-in (Pixera) keeps only an argon2id hash; length limits; rate-limited."""

from __future__ import annotations

import json

import pytest

from tests.support.auth import ADULT_BIRTH_DATE, bearer, post_json, secrets_at_rest
from tests.support.mail import allow_sending, last_code_for

PASSWORD = "correct horse battery staple"


@pytest.fixture
def profile_name():
    return "pixera"


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def _sign_up(client, email="pw@example.com", password=PASSWORD, birth_date=ADULT_BIRTH_DATE):
    return post_json(client, "/auth/password/sign-up", {"email": email, "password": password, "birth_date": birth_date})


def _sign_in(client, email="pw@example.com", password=PASSWORD):
    return post_json(client, "/auth/password/sign-in", {"email": email, "password": password})


def test_acc2_password_is_stored_only_as_an_argon2id_hash(client, mail, aws):
    from chalicelib import wiring

    assert _sign_up(client).status_code == 202
    user = wiring.accounts_store().get_user(wiring.accounts_store().find_user_id_by_email("pw@example.com"))
    assert user.password_hash.startswith("$argon2id$")
    assert secrets_at_rest(aws, [PASSWORD]) == []


def _verify_sign_up(client, email="pw@example.com"):
    return post_json(client, "/auth/email/verify", {"email": email, "code": last_code_for(email)})


def test_acc2_sign_in_with_the_password_opens_a_session(client, mail):
    _sign_up(client)
    assert _verify_sign_up(client).status_code == 200
    response = _sign_in(client)
    assert response.status_code == 200
    me = client.http.get("/me", headers=bearer(response.json_body["token"]))
    assert me.json_body["password_set"] is True
    assert me.json_body["email_verified"] is True


def test_acc10_a_password_account_gets_no_session_until_its_address_is_verified(client, mail):
    assert _sign_up(client).status_code == 202
    refused = _sign_in(client)
    assert refused.status_code == 403
    assert refused.json_body["error"]["details"]["reason"] == "email_unverified"
    assert "token" not in refused.json_body
    assert _verify_sign_up(client).status_code == 200
    assert _sign_in(client).status_code == 200


def test_acc10_proving_the_address_revokes_a_password_someone_else_set_and_every_session(client, mail):
    """Pre-takeover: someone signs up with the victim's address and a password of their choosing;
    the victim later signs in by a code they asked for. The stranger's password and sessions die."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.sessions import open_session

    attacker_password = "the attacker's chosen password"
    assert _sign_up(client, email="victim@example.com", password=attacker_password).status_code == 202
    store = wiring.accounts_store()
    user_id = store.find_user_id_by_email("victim@example.com")
    # However the stranger came by a session (one opened before this rule, say), it must not survive.
    stranger = bearer(open_session(store, wiring.profile(), user_id).token)
    assert client.http.get("/me", headers=stranger).status_code == 200

    assert post_json(client, "/auth/email/code", {"email": "victim@example.com"}).status_code == 202
    victim = _verify_sign_up(client, email="victim@example.com")
    assert victim.status_code == 200
    assert victim.json_body["user_id"] == user_id

    assert client.http.get("/me", headers=stranger).status_code == 401
    assert _sign_in(client, email="victim@example.com", password=attacker_password).status_code == 401
    me = client.http.get("/me", headers=bearer(victim.json_body["token"])).json_body
    assert me["password_set"] is False
    assert me["email_verified"] is True


def test_acc2_emailed_code_verifies_the_address(client, mail):
    _sign_up(client)
    body = {"email": "pw@example.com", "code": last_code_for("pw@example.com")}
    response = post_json(client, "/auth/email/verify", body)
    assert response.status_code == 200
    assert client.http.get("/me", headers=bearer(response.json_body["token"])).json_body["email_verified"] is True


def test_acc2_wrong_password_and_unknown_account_answer_alike(client, mail):
    _sign_up(client)
    wrong = _sign_in(client, password="not the password at all")
    unknown = _sign_in(client, email="ghost@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json_body == unknown.json_body


def test_acc2_sign_up_for_a_taken_address_leaves_its_password_alone(client, mail):
    _sign_up(client)
    _verify_sign_up(client)
    assert _sign_up(client, password="an attacker's new password").status_code == 202
    assert _sign_in(client).status_code == 200
    assert _sign_in(client, password="an attacker's new password").status_code == 401


def test_acc2_password_length_limits(client, mail):
    for password in ("short", "x" * 129):
        response = _sign_up(client, password=password)
        assert response.status_code == 400
        assert "characters" in response.json_body["error"]["message"]
    assert _sign_up(client, password="x" * 128).status_code == 202


def test_acc2_password_guessing_is_rate_limited(client, mail):
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS

    _sign_up(client)  # counts towards the same "password" route class
    statuses = [
        _sign_in(client, password=f"guess number {i}").status_code for i in range(ROUTE_LIMITS["password"].requests)
    ]
    assert 429 in statuses
    assert set(statuses) <= {401, 429}


def _change(client, headers, current, new="a brand new passphrase"):
    body = {"current_password": current, "new_password": new}
    return client.http.put("/me/password", body=json.dumps(body), headers=headers)


def test_acc2_change_password_needs_the_current_one(client, mail):
    """A wrong current password is a failed proof on a valid session: 403 in the one error shape,
    and the session stays signed in."""
    _sign_up(client)
    _verify_sign_up(client)
    headers = bearer(_sign_in(client).json_body["token"])
    refused = _change(client, headers, "wrong password!!")
    assert refused.status_code == 403
    assert refused.json_body["error"]["code"] == "forbidden"
    assert client.http.get("/me", headers=headers).status_code == 200
    assert _change(client, headers, PASSWORD).status_code == 200
    assert _sign_in(client, password="a brand new passphrase").status_code == 200


def test_acc2_changing_the_password_signs_out_every_other_session(client, mail):
    _sign_up(client)
    _verify_sign_up(client)
    here = bearer(_sign_in(client).json_body["token"])
    elsewhere = bearer(_sign_in(client).json_body["token"])
    assert _change(client, here, PASSWORD).status_code == 200
    assert client.http.get("/me", headers=elsewhere).status_code == 401
    assert client.http.get("/me", headers=here).status_code == 200  # the caller stays signed in


def test_acc2_current_password_guesses_are_limited_per_account(client, mail, monkeypatch):
    from chalicelib.domain.accounts.abuse import ROUTE_LIMITS, Limit

    assert ROUTE_LIMITS["password_change"] == Limit(10, 3600)
    monkeypatch.setitem(ROUTE_LIMITS, "password_change", Limit(3, 3600))  # each guess is a slow hash
    _sign_up(client)
    _verify_sign_up(client)
    headers = bearer(_sign_in(client).json_body["token"])
    guesses = ROUTE_LIMITS["password_change"].requests
    statuses = [_change(client, headers, f"guess number {i}").status_code for i in range(guesses)]
    assert statuses == [403] * guesses
    limited = _change(client, headers, PASSWORD)  # even the right one, until the window ends
    assert limited.status_code == 429
    assert limited.json_body["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert _sign_in(client).status_code == 200  # the password did not change


@pytest.mark.parametrize("profile_name", ["kaleipix", "pixelrender"])
def test_password_sign_in_is_refused_where_the_profile_offers_none(client, mail):
    response = _sign_up(client)
    assert response.status_code == 404
    assert "password" in response.json_body["error"]["message"]
    assert _sign_in(client).status_code == 404
