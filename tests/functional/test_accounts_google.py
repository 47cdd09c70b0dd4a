"""ACC-3: Google sign-in (PromptPixels) verifies the ID token against the issuer's JWKS and keeps only
email, name and picture. The tests sign tokens with their own RSA key and serve its JWKS over HTTP."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.auth import bearer, post_json, stored_user_item
from tests.support.google import id_token


@pytest.fixture
def profile_name():
    return "promptpixels"


def _nonce(client):
    response = client.http.post("/auth/google/nonce")
    assert response.status_code == 201
    return response.json_body["nonce"]


def _sign_in(client, token, nonce, birth_date="2000-01-01"):
    return post_json(client, "/auth/google", {"id_token": token, "nonce": nonce, "birth_date": birth_date})


def test_acc3_verified_token_signs_up_keeping_only_email_name_picture(client, google, signing_key):

    nonce = _nonce(client)
    response = _sign_in(client, id_token(signing_key, nonce), nonce)
    assert response.status_code == 200
    me = client.http.get("/me", headers=bearer(response.json_body["token"])).json_body
    assert (me["email"], me["display_name"], me["picture"]) == (
        "gina@example.com",
        "Gina Example",
        "https://lh3.googleusercontent.com/a/photo",
    )
    stored = stored_user_item(me["user_id"])
    from_google = set(stored) - {"pk", "sk", "user_id", "owner_id", "status", "created_at", "version"}
    from_google -= {"email_verified", "minimum_age_attested", "age_attested_at", "processing_restricted"}
    assert from_google == {"email", "display_name", "picture"}
    assert "110169484474386276334" not in json.dumps(stored, default=str)


def test_acc3_second_sign_in_finds_the_same_account(client, google, signing_key):
    first_nonce = _nonce(client)
    first = _sign_in(client, id_token(signing_key, first_nonce), first_nonce)
    again_nonce = _nonce(client)
    again = _sign_in(client, id_token(signing_key, again_nonce), again_nonce, birth_date=None)
    assert again.status_code == 200
    assert again.json_body["user_id"] == first.json_body["user_id"]


def test_acc3_tokens_failing_a_check_are_refused_and_store_nothing(client, google, signing_key):
    from chalicelib import wiring

    past = int(time.time()) - 3600
    failing = {
        "issuer": {"iss": "https://evil.example.com"},
        "audience": {"aud": "someone-elses-client-id"},
        "expired": {"exp": past, "iat": past - 3600},
        "nonce": {"nonce": "a-nonce-we-never-issued"},
        "unverified email": {"email_verified": False},
    }
    for check, overrides in failing.items():
        nonce = _nonce(client)
        response = _sign_in(client, id_token(signing_key, nonce, **overrides), nonce)
        assert response.status_code in (401, 403), check
    assert wiring.accounts_store().find_user_id_by_email("gina@example.com") is None


def test_acc3_token_signed_by_another_key_is_refused(client, google):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nonce = _nonce(client)
    assert _sign_in(client, id_token(stranger, nonce), nonce).status_code == 401


def test_acc3_a_nonce_works_once(client, google, signing_key):
    nonce = _nonce(client)
    token = id_token(signing_key, nonce)
    assert _sign_in(client, token, nonce).status_code == 200
    assert _sign_in(client, token, nonce).status_code == 401


@pytest.mark.parametrize("profile_name", ["kaleipix", "pixera"])
def test_google_sign_in_is_refused_where_the_profile_offers_none(client, google, signing_key):
    assert client.http.post("/auth/google/nonce").status_code == 404
    response = _sign_in(client, id_token(signing_key, "n" * 16), "n" * 16)
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"


def test_ops3_a_cookie_session_uses_the_cookie_names_the_policy_declares(client, google, signing_key):
    nonce = _nonce(client)
    body = {"id_token": id_token(signing_key, nonce), "nonce": nonce, "birth_date": "2000-01-01", "session": "cookie"}
    response = post_json(client, "/auth/google", body)
    assert response.status_code == 200
    set_cookie = response.headers["Set-Cookie"]
    cookies = dict(
        c.split(";", 1)[0].split("=", 1) for c in (set_cookie if isinstance(set_cookie, list) else [set_cookie])
    )
    assert set(cookies) == {"sessionid", "csrftoken"}  # promptpixels.toml, [[cookies]] with roles session and csrf
    header = {"Cookie": f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}"}
    assert client.http.get("/me", headers=header).status_code == 200
    assert client.http.get("/me", headers={"Cookie": f"pk_session={cookies['sessionid']}"}).status_code == 401
