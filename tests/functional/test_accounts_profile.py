"""ACC-8 (Pixera, PromptPixels): preferences are the user's to read and change. DSR-3 (all):
rectification of username and display name, the username unique across accounts."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PROFILES
from tests.support.auth import sign_up
from tests.support.mail import allow_sending


@pytest.fixture
def mail(aws):
    allow_sending(aws)


def _patch(client, signed, change):
    return client.http.patch("/me", body=json.dumps(change), headers=signed.headers)


@pytest.mark.parametrize("profile_name", ["pixera", "promptpixels"])
def test_acc8_preferences_are_read_and_changed_by_their_owner(client, mail):
    signed = sign_up(client)
    change = {"language": "de", "theme": "dark", "notifications": {"product_updates": False, "billing": True}}
    assert _patch(client, signed, change).status_code == 200
    assert _patch(client, signed, {"notifications": {"product_updates": True}}).status_code == 200
    preferences = client.http.get("/me", headers=signed.headers).json_body["preferences"]
    assert preferences == {
        "language": "de",
        "theme": "dark",
        "notifications": {"product_updates": True, "billing": True},
    }


@pytest.mark.parametrize("profile_name", ["pixera", "promptpixels"])
def test_acc8_invalid_preferences_are_a_clear_400_and_change_nothing(client, mail):
    signed = sign_up(client)
    before = client.http.get("/me", headers=signed.headers).json_body
    for change in ({"theme": "neon"}, {"language": "not a language"}, {"notifications": {"spam": True}}, {"role": "x"}):
        response = _patch(client, signed, change)
        assert response.status_code == 400, change
        assert response.json_body["error"]["code"] == "invalid_input"
    assert client.http.get("/me", headers=signed.headers).json_body == before


@pytest.mark.parametrize("profile_name", PROFILES)
def test_dsr3_username_and_display_name_can_be_corrected(client, mail):
    signed = sign_up(client)
    assert _patch(client, signed, {"username": "first_name", "display_name": "Frst"}).status_code == 200
    response = _patch(client, signed, {"username": "second_name", "display_name": "First"})
    assert response.status_code == 200
    assert (response.json_body["username"], response.json_body["display_name"]) == ("second_name", "First")


def test_dsr3_usernames_are_unique_regardless_of_case_and_freed_on_change(client, mail):
    alice, bob = sign_up(client), sign_up(client)
    assert _patch(client, alice, {"username": "Picasso"}).status_code == 200
    taken = _patch(client, bob, {"username": "picasso"})
    assert taken.status_code == 409
    assert client.http.get("/me", headers=bob.headers).json_body["username"] is None
    assert _patch(client, alice, {"username": "Dali"}).status_code == 200
    assert _patch(client, bob, {"username": "picasso"}).status_code == 200


def test_dsr3_changing_only_the_case_of_ones_own_username_is_allowed(client, mail):
    signed = sign_up(client)
    assert _patch(client, signed, {"username": "monet"}).status_code == 200
    assert _patch(client, signed, {"username": "Monet"}).status_code == 200
    assert client.http.get("/me", headers=signed.headers).json_body["username"] == "Monet"
