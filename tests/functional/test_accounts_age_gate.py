"""ACC-7: sign-up needs an age attestation meeting the profile's minimum; a refusal stores nothing."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib import clock
from tests.conftest import PROFILES
from tests.support.auth import post_json
from tests.support.google import id_token
from tests.support.mail import allow_sending, last_code_for


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def _birth_date_for_age(age: int, today: date) -> date:
    try:
        return today.replace(year=today.year - age)
    except ValueError:  # 29 February
        return today.replace(year=today.year - age, day=28)


def _stored_items(aws) -> list[dict]:
    from chalicelib.settings import get_settings

    table = get_settings().table_name("accounts")
    return aws.client("dynamodb").scan(TableName=table)["Items"]


def _redeem(client, email, birth_date, signing_key):
    """Sign up by the profile's own method: an e-mail code, or Google where that is the only one."""
    from chalicelib import wiring

    if "email_code" not in wiring.profile().sign_in.methods:
        nonce = client.http.post("/auth/google/nonce").json_body["nonce"]
        token = id_token(signing_key, nonce, email=email)
        return post_json(client, "/auth/google", {"id_token": token, "nonce": nonce, "birth_date": str(birth_date)})
    post_json(client, "/auth/email/code", {"email": email})
    return post_json(
        client, "/auth/email/verify", {"email": email, "code": last_code_for(email), "birth_date": str(birth_date)}
    )


@pytest.mark.parametrize("profile_name", PROFILES)
def test_acc7_under_the_minimum_age_stores_nothing_and_the_minimum_is_admitted(client, mail, aws, google, signing_key):
    from chalicelib import wiring

    minimum = wiring.profile().minimum_age
    today = clock.now().date()
    youngest_adult = _birth_date_for_age(minimum, today)
    too_young = date.fromordinal(youngest_adult.toordinal() + 1)
    response = _redeem(client, "young@example.com", too_young, signing_key)
    assert response.status_code == 403
    assert response.json_body["error"]["details"]["minimum_age"] == minimum
    # Only the Google nonce issued before the attempt (it expires in minutes), nothing of the person.
    assert [item for item in _stored_items(aws) if not item["pk"]["S"].startswith("NONCE#")] == []

    response = _redeem(client, "of-age@example.com", youngest_adult, signing_key)
    assert response.status_code == 200
    user = wiring.accounts_store().get_user(response.json_body["user_id"])
    assert user.minimum_age_attested == minimum
    assert user.age_attested_at is not None


def test_acc7_a_new_account_without_a_birth_date_is_asked_for_one(client, mail, aws):
    email = "no-date@example.com"
    post_json(client, "/auth/email/code", {"email": email})
    code = last_code_for(email)
    asked = post_json(client, "/auth/email/verify", {"email": email, "code": code})
    assert asked.status_code == 400
    assert asked.json_body["error"]["details"]["required"] == ["birth_date"]
    retried = post_json(client, "/auth/email/verify", {"email": email, "code": code, "birth_date": "1980-05-05"})
    assert retried.status_code == 200


@pytest.mark.parametrize("profile_name", ["pixera"])
def test_acc7_password_sign_up_under_age_stores_nothing(client, mail, aws):
    response = post_json(
        client,
        "/auth/password/sign-up",
        {"email": "kid@example.com", "password": "long enough password", "birth_date": str(clock.now().date())},
    )
    assert response.status_code == 403
    assert _stored_items(aws) == []
