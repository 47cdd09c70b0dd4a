"""After every sign-in flow a profile offers, no table or bucket holds a raw IP address, login code,
password, session token or API key (tests/support/scan.py over the whole description)."""

from __future__ import annotations

import json

import pytest

from tests.support.auth import ADULT_BIRTH_DATE, post_json, secrets_at_rest, sign_up
from tests.support.mail import allow_sending, last_code_for, sent_emails

PASSWORD = "a long enough secret passphrase"
CLIENT_IPS = ["127.0.0.1", "203.0.113.77", "2001:db8:5:6:7:8:9:a"]


@pytest.mark.parametrize("profile_name", ["pixera", "pixelrender", "kaleipix"])
def test_no_raw_secret_is_stored_after_the_sign_in_flows(client, aws, profile_name):
    from chalicelib import wiring

    allow_sending(aws)
    methods = wiring.profile().sign_in.methods
    signed = sign_up(client)
    secrets = [signed.token]
    post_json(client, "/auth/email/code", {"email": signed.email})
    cookie = post_json(
        client, "/auth/email/verify", {"email": signed.email, "code": last_code_for(signed.email), "session": "cookie"}
    )
    secrets += [c.split(";", 1)[0].split("=", 1)[1] for c in cookie.headers["Set-Cookie"]]
    if "password" in methods:
        body = {"email": "pw@example.com", "password": PASSWORD, "birth_date": ADULT_BIRTH_DATE}
        assert post_json(client, "/auth/password/sign-up", body).status_code == 202
        verified = post_json(
            client, "/auth/email/verify", {"email": "pw@example.com", "code": last_code_for("pw@example.com")}
        )
        secrets.append(verified.json_body["token"])
        credentials = {"email": "pw@example.com", "password": PASSWORD}
        secrets.append(post_json(client, "/auth/password/sign-in", credentials).json_body["token"])
    if "api_key" in methods:
        key = post_json(client, "/me/api-keys", {"name": "ci"}, signed.headers).json_body["key"]
        secrets += [key, key.split("_", 2)[2]]
        assert client.http.get("/gallery", headers={"X-Api-Key": key}).status_code == 200
    for ip in CLIENT_IPS:
        wiring.rate_limiter().check("scan", ip)
    codes = [last_code_for(m["to"][0]) for m in sent_emails()]
    assert codes
    leaks = secrets_at_rest(aws, [*secrets, *codes, PASSWORD, *CLIENT_IPS, "2001:db8:5:6"])
    assert leaks == [], json.dumps(leaks)
