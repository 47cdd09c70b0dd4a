"""OPS-1 for every profile: what /policy.json says about sign-in methods, cookies and abuse signals
is what the running system offers, sets and stores.

- every sign-in method the page lists answers on its routes; every other one is a 404 in the one
  error shape (PromptPixels: Google only, so no e-mail codes);
- a cookie session sets exactly the cookies the page lists for the session and CSRF roles, and
  signing out expires only those;
- a sign-in that presents every signal (User-Agent, Accept-Language, fingerprint) stores exactly
  the signals the page lists for abuse_signals, nothing more.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.profile.loader import available_profiles
from tests.support.auth import ADULT_BIRTH_DATE, post_json, stored_user
from tests.support.google import id_token
from tests.support.mail import allow_sending, last_code_for

SIGNAL_HEADERS = {
    "User-Agent": "Mozilla/5.0 (OPS-1 probe)",
    "Accept-Language": "de-DE,de;q=0.9",
    "X-Client-Fingerprint": "fp-ops1-probe",
}
SIGNAL_ATTRIBUTES = {
    "user_agent": "user_agent",
    "accept_language": "accept_language",
    "fingerprint_hash": "fingerprint_hash",
    "ip_hash": "ip_hash",
}


@pytest.fixture(params=available_profiles())
def profile_name(request):
    return request.param


@pytest.fixture
def policy(client):
    return client.http.get("/policy.json").json_body


def _probes(client) -> dict[str, list]:
    """One call per route of each sign-in method, made with harmless (often invalid) bodies."""
    signed = stored_user()
    widget = {"id": 1, "first_name": "A", "auth_date": 1, "hash": "0" * 64}
    return {
        "email_code": [
            lambda: post_json(client, "/auth/email/code", {"email": "probe@example.com"}),
            lambda: post_json(client, "/auth/email/verify", {"email": "probe@example.com", "code": "000000"}),
        ],
        "password": [
            lambda: post_json(client, "/auth/password/sign-in", {"email": "probe@example.com", "password": "x" * 12}),
            lambda: post_json(client, "/auth/password/sign-up", {"email": "probe@example.com"}),
        ],
        "google": [
            lambda: client.http.post("/auth/google/nonce"),
            lambda: post_json(client, "/auth/google", {"id_token": "x", "nonce": "n" * 16}),
        ],
        "telegram": [
            lambda: post_json(client, "/auth/telegram", {"widget": widget}),
            lambda: client.http.put("/me/telegram", body=json.dumps({"widget": widget}), headers=signed.headers),
        ],
        "api_key": [lambda: post_json(client, "/me/api-keys", {"name": "probe", "scopes": ["usage"]}, signed.headers)],
    }


def test_ops1_sign_in_routes_are_exactly_the_methods_the_page_lists(client, policy, aws):
    allow_sending(aws)
    listed = set(policy["sign_in"])
    for method, calls in _probes(client).items():
        for call in calls:
            response = call()
            if method in listed:
                assert response.status_code != 404, (method, response.json_body)
            else:
                assert response.status_code == 404, (method, response.status_code, response.body)
                assert response.json_body["error"]["code"] == "not_found"


def _cookie_sign_in(client, policy, aws, signing_key, headers=None):
    """A cookie-mode sign-in by the first interactive method the profile offers."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    if "email_code" in policy["sign_in"]:
        allow_sending(aws)
        email = "ops1@example.com"
        assert post_json(client, "/auth/email/code", {"email": email}).status_code == 202
        body = {"email": email, "code": last_code_for(email), "birth_date": ADULT_BIRTH_DATE, "session": "cookie"}
        return client.http.post("/auth/email/verify", body=json.dumps(body), headers=headers)
    assert "google" in policy["sign_in"]
    nonce = client.http.post("/auth/google/nonce").json_body["nonce"]
    body = {"id_token": id_token(signing_key, nonce), "nonce": nonce, "birth_date": ADULT_BIRTH_DATE}
    return client.http.post("/auth/google", body=json.dumps({**body, "session": "cookie"}), headers=headers)


def _set_cookie_names(response) -> set[str]:
    values = response.headers.get("Set-Cookie") or []
    return {v.split("=", 1)[0] for v in (values if isinstance(values, list) else [values])}


def test_ops1_ops3_cookies_set_are_the_cookies_the_page_lists(client, policy, aws, google, signing_key):
    declared = {c["role"]: c["name"] for c in policy["cookies"] if c["storage"] == "cookie"}
    signed_in = _cookie_sign_in(client, policy, aws, signing_key)
    assert signed_in.status_code == 200, signed_in.body
    assert _set_cookie_names(signed_in) == {declared["session"], declared["csrf"]}
    cookie = "; ".join(v.split(";", 1)[0] for v in signed_in.headers["Set-Cookie"])
    out = client.http.post(
        "/auth/logout", headers={"Cookie": cookie, "X-CSRF-Token": signed_in.json_body["csrf_token"]}
    )
    assert out.status_code == 200, out.body
    assert _set_cookie_names(out) == {declared["session"], declared["csrf"]}


def test_ops1_sec2_sec3_abuse_signals_stored_are_the_ones_the_page_lists(client, policy, aws, google, signing_key):
    from chalicelib.store.models.abuse import AbuseSignal

    signed_in = _cookie_sign_in(client, policy, aws, signing_key, headers=SIGNAL_HEADERS)
    assert signed_in.status_code == 200, signed_in.body
    listed = set(next(c for c in policy["categories"] if c["id"] == "abuse_signals")["signals"])
    stored = list(AbuseSignal.scan(AbuseSignal.pk.startswith("SIGNAL#")))
    assert len(stored) == 1
    kept = {name for name, attribute in SIGNAL_ATTRIBUTES.items() if getattr(stored[0], attribute)}
    assert kept == listed
    raw = json.dumps(stored[0].attribute_values, default=str)
    assert SIGNAL_HEADERS["X-Client-Fingerprint"] not in raw
    for signal, header in (("user_agent", "User-Agent"), ("accept_language", "Accept-Language")):
        assert (SIGNAL_HEADERS[header] in raw) == (signal in listed)
