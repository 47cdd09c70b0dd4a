"""ACC-6: optional Telegram linking (Kaleipix), checked as Telegram's login widget signs it; unlinking
removes the Telegram id."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.profile.loader import load_profile
from tests.support.auth import post_json, secrets_at_rest, sign_up, stored_user_item
from tests.support.mail import allow_sending

TELEGRAM_ID = "987654321"


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def widget(bot_token: str | None = None, telegram_id: str = TELEGRAM_ID, auth_date=None) -> dict:
    from chalicelib.store.secrets import secret

    data = {
        "id": telegram_id,
        "first_name": "Tele",
        "username": "tele_user",
        "auth_date": str(int((auth_date or clock.now()).timestamp())),
    }
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    key = hashlib.sha256((bot_token or secret("telegram-bot-token")).encode()).digest()
    return {**data, "hash": hmac.new(key, check.encode(), hashlib.sha256).hexdigest()}


def _link(client, signed, data):
    return client.http.put("/me/telegram", body=json.dumps({"widget": data}), headers=signed.headers)


def test_acc6_signed_widget_data_links_and_signs_in(client, mail):
    signed = sign_up(client)
    response = _link(client, signed, widget())
    assert response.status_code == 200
    assert response.json_body["telegram_linked"] is True
    via_telegram = post_json(client, "/auth/telegram", {"widget": widget()})
    assert via_telegram.status_code == 200
    assert via_telegram.json_body["user_id"] == signed.user_id


def test_acc6_unlinking_removes_the_telegram_id(client, mail, aws):
    signed = sign_up(client)
    _link(client, signed, widget())
    response = client.http.delete("/me/telegram", headers=signed.headers)
    assert response.status_code == 200
    assert response.json_body["telegram_linked"] is False
    assert secrets_at_rest(aws, [TELEGRAM_ID]) == []
    assert post_json(client, "/auth/telegram", {"widget": widget()}).status_code == 401


def test_acc6_forged_widget_data_is_refused(client, mail):
    signed = sign_up(client)
    forged = widget(bot_token="999:someone-elses-bot")
    assert _link(client, signed, forged).status_code == 401
    tampered = {**widget(), "id": "111111111"}
    assert _link(client, signed, tampered).status_code == 401
    assert client.http.get("/me", headers=signed.headers).json_body["telegram_linked"] is False


def test_acc6_stale_widget_data_is_refused(client, mail):
    signed = sign_up(client)
    stale = widget(auth_date=clock.now() - timedelta(hours=2))
    assert _link(client, signed, stale).status_code == 401


def test_acc6_a_telegram_account_links_to_one_user_only(client, mail):
    first, second = sign_up(client), sign_up(client)
    assert _link(client, first, widget()).status_code == 200
    assert _link(client, second, widget()).status_code == 409


def test_acc6_only_the_telegram_id_is_kept(client, mail):

    signed = sign_up(client)
    _link(client, signed, widget())
    stored = json.dumps(stored_user_item(signed.user_id), default=str)
    assert TELEGRAM_ID in stored
    assert "tele_user" not in stored
    assert "Tele" not in stored


@pytest.mark.parametrize("profile_name", ["pixera", "pictomancer"])
def test_telegram_is_refused_where_the_profile_offers_none(client, mail):
    signed = sign_up(client)
    assert _link(client, signed, widget()).status_code == 404
    assert post_json(client, "/auth/telegram", {"widget": widget()}).status_code == 404


def test_acc6_dsr13_no_key_holds_the_raw_telegram_id(client, mail, aws):
    """The claim that makes a Telegram account link to one user is keyed by a keyed HMAC of the id:
    the id itself is kept only in the user's item, where the profile lists it."""
    from chalicelib.settings import get_settings
    from infra.description import describe

    signed = sign_up(client)
    assert _link(client, signed, widget()).status_code == 200
    dynamodb = aws.client("dynamodb")
    keys = []
    for table in describe(get_settings(), load_profile("kaleipix")).tables:
        for item in dynamodb.scan(TableName=table.name)["Items"]:
            keys += [item["pk"]["S"], item["sk"]["S"]]
    assert keys
    assert [key for key in keys if TELEGRAM_ID in key] == []
    assert post_json(client, "/auth/telegram", {"widget": widget()}).json_body["user_id"] == signed.user_id
