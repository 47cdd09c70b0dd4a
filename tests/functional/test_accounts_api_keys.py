"""API keys: ACC-4 (verified email first) and ACC-5 (hash only, shown once, prefix, scopes, revocable),
and SEC-4 (usage metered per key), for the API-first profiles."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib import clock
from tests.support.auth import post_json, secrets_at_rest, sign_up, unverified_user
from tests.support.mail import allow_sending

API_PROFILES = ["pixelrender", "pictomancer"]


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def _create(client, signed, **body):
    return post_json(client, "/me/api-keys", body, signed.headers)


@pytest.mark.parametrize("profile_name", API_PROFILES)
def test_acc4_api_key_refused_until_email_is_verified(client, mail):
    unverified = unverified_user()
    refused = _create(client, unverified, name="early")
    assert refused.status_code == 403
    assert refused.json_body["error"]["details"]["reason"] == "email_unverified"
    from chalicelib.store.models.accounts import ApiKey

    assert list(ApiKey.scan(ApiKey.sk == ApiKey.SORT_KEY)) == []
    verified = sign_up(client)
    assert _create(client, verified, name="ok").status_code == 201


@pytest.mark.parametrize("profile_name", API_PROFILES)
def test_acc5_key_is_shown_once_and_stored_only_as_a_hash(client, mail, aws):
    signed = sign_up(client)
    created = _create(client, signed, name="ci", scopes=["generate"])
    assert created.status_code == 201
    key, prefix = created.json_body["key"], created.json_body["prefix"]
    assert key.startswith(prefix + "_")
    assert len(key) > len(prefix) + 30
    listed = client.http.get("/me/api-keys", headers=signed.headers).json_body["api_keys"]
    assert [k["prefix"] for k in listed] == [prefix]
    assert key not in json.dumps(listed)
    assert listed[0]["scopes"] == ["generate"]
    assert secrets_at_rest(aws, [key, key.split("_", 2)[2]]) == []


@pytest.mark.parametrize("profile_name", API_PROFILES)
def test_acc5_key_authenticates_and_records_last_use(client, mail):
    signed = sign_up(client)
    key = _create(client, signed).json_body["key"]
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-Api-Key": key}):
        started = post_json(client, "/uploads", {"content_type": "image/png"}, headers)
        assert started.status_code == 201
        # The key acts as its owner: the owner's session sees what the key started.
        owned = client.http.get(f"/uploads/{started.json_body['id']}", headers=signed.headers)
        assert owned.status_code == 200
    (listed,) = client.http.get("/me/api-keys", headers=signed.headers).json_body["api_keys"]
    assert listed["last_used_at"] is not None


@pytest.mark.parametrize("profile_name", API_PROFILES)
def test_acc5_revoked_key_is_refused(client, mail):
    signed = sign_up(client)
    created = _create(client, signed).json_body
    headers = {"X-Api-Key": created["key"]}
    assert client.http.get("/gallery", headers=headers).status_code == 200
    assert client.http.delete(f"/me/api-keys/{created['id']}", headers=signed.headers).status_code == 200
    assert client.http.get("/gallery", headers=headers).status_code == 401
    (listed,) = client.http.get("/me/api-keys", headers=signed.headers).json_body["api_keys"]
    assert listed["revoked"] is True


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_acc5_tampered_key_is_refused(client, mail):
    signed = sign_up(client)
    key = _create(client, signed).json_body["key"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert client.http.get("/gallery", headers={"X-Api-Key": tampered}).status_code == 401


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_acc5_unknown_scopes_are_a_400(client, mail):
    signed = sign_up(client)
    response = _create(client, signed, scopes=["root"])
    assert response.status_code == 400
    assert response.json_body["error"]["details"]["unknown"] == ["root"]


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_acc9_an_explicit_empty_scope_list_is_refused_and_a_missing_one_gets_the_defaults(client, mail):
    """ACC-9: a key does only what its scopes allow; asking for none is refused (such a key could do
    nothing) rather than silently widened to the defaults."""
    from chalicelib.domain.accounts.api_keys import DEFAULT_SCOPES

    signed = sign_up(client)
    refused = _create(client, signed, name="nothing", scopes=[])
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "invalid_input"
    assert client.http.get("/me/api-keys", headers=signed.headers).json_body["api_keys"] == []
    defaults = _create(client, signed, name="defaults")
    assert defaults.status_code == 201
    assert defaults.json_body["scopes"] == sorted(DEFAULT_SCOPES)


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_an_api_key_cannot_mint_keys(client, mail):
    signed = sign_up(client)
    key = _create(client, signed).json_body["key"]
    response = post_json(client, "/me/api-keys", {}, {"X-Api-Key": key})
    assert response.status_code == 403


@pytest.mark.parametrize("profile_name", ["kaleipix", "promptpixels"])
def test_api_keys_are_refused_where_the_profile_offers_none(client, mail):
    signed = sign_up(client)
    response = _create(client, signed)
    assert response.status_code == 404  # OPS-1: a method the page does not list has no routes
    assert "api_key" in response.json_body["error"]["message"]


@pytest.mark.parametrize("profile_name", API_PROFILES)
def test_sec4_usage_is_metered_per_key_with_the_profiles_retention(client, mail):
    from chalicelib import wiring
    from chalicelib.profile.schema import Category
    from chalicelib.store.models.abuse import UsageCounter

    signed = sign_up(client)
    first = _create(client, signed, name="a").json_body
    second = _create(client, signed, name="b").json_body
    for _ in range(3):
        client.http.get("/gallery", headers={"X-Api-Key": first["key"]})
    client.http.get("/gallery", headers={"X-Api-Key": second["key"]})
    usage = client.http.get(f"/me/api-keys/{first['id']}/usage", headers=signed.headers).json_body["usage"]
    assert [day["requests"] for day in usage] == [3]
    other = client.http.get(f"/me/api-keys/{second['id']}/usage", headers=signed.headers).json_body["usage"]
    assert [day["requests"] for day in other] == [1]
    (counter,) = UsageCounter.query(f"USAGE#{first['id']}")
    days = wiring.profile().category(Category.USAGE_LOGS).retention.days
    day_start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert counter.expires_at == day_start + timedelta(days=days)
    assert counter.owner_id == signed.user_id


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_sec4_usage_counts_request_volume(client, mail):
    signed = sign_up(client)
    created = _create(client, signed).json_body
    body = json.dumps({"content_type": "image/png"})
    started = client.http.post(
        "/uploads", body=body, headers={"X-Api-Key": created["key"], "Content-Type": "application/json"}
    )
    assert started.status_code == 201
    (day,) = client.http.get(f"/me/api-keys/{created['id']}/usage", headers=signed.headers).json_body["usage"]
    assert day["volume_bytes"] == len(body.encode())


@pytest.mark.parametrize("profile_name", ["pixelrender"])
def test_someone_elses_key_cannot_be_revoked_or_read(client, mail):
    owner, stranger = sign_up(client), sign_up(client)
    created = _create(client, owner).json_body
    assert client.http.delete(f"/me/api-keys/{created['id']}", headers=stranger.headers).status_code == 404
    assert client.http.get(f"/me/api-keys/{created['id']}/usage", headers=stranger.headers).status_code == 404
    assert client.http.get("/gallery", headers={"X-Api-Key": created["key"]}).status_code == 200
