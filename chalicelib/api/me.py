"""HTTP routes under /me: the signed-in user's own profile, preferences, links and API keys."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _signed_in():
    """Who calls; account-level routes answer only a person's session (api/access.py, ACC-9)."""
    from chalicelib.api.identity import authenticate

    return authenticate(bp.current_request)


@route(bp, "/me", methods=["GET"])
def get_me():
    from chalicelib.domain.accounts.profile import profile_view

    return json_response(profile_view(_signed_in().user))


def _profile_change_model():
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    class ProfileChange(BaseModel):
        model_config = ConfigDict(extra="forbid")

        username: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{3,30}$")
        display_name: str | None = Field(default=None, min_length=1, max_length=80)
        language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
        theme: Literal["light", "dark", "system"] | None = None
        notifications: dict[str, bool] | None = None

    return ProfileChange


@route(bp, "/me", methods=["PATCH"])
def patch_me():
    """ACC-8, DSR-3: correct username, display name and preferences."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.profile import update_profile

    change = parse_body(_profile_change_model(), json_body(bp))
    user_id = _signed_in().user.user_id
    return json_response(update_profile(wiring.accounts_store(), user_id, **change.model_dump(exclude_none=True)))


def _bodies():
    from pydantic import BaseModel, ConfigDict, Field

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class NewApiKey(Body):
        name: str | None = Field(default=None, max_length=60)
        scopes: list[str] | None = Field(default=None, max_length=10)

    class TelegramLink(Body):
        widget: dict[str, str | int] = Field(max_length=20)

    class PasswordChange(Body):
        current_password: str | None = Field(default=None, max_length=1024)
        new_password: str = Field(min_length=1, max_length=1024)

    return {"NewApiKey": NewApiKey, "TelegramLink": TelegramLink, "PasswordChange": PasswordChange}


@route(bp, "/me/api-keys", methods=["POST"])
def create_api_key():
    """ACC-4, ACC-5: the key is in this response only."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import api_keys

    body = parse_body(_bodies()["NewApiKey"], json_body(bp))
    user = _signed_in().user
    created = api_keys.create_key(wiring.accounts_store(), wiring.profile(), user, name=body.name, scopes=body.scopes)
    return json_response(created, 201)


@route(bp, "/me/api-keys", methods=["GET"])
def list_api_keys():
    from chalicelib import wiring
    from chalicelib.domain.accounts import api_keys

    return json_response({"api_keys": api_keys.list_keys(wiring.accounts_store(), _signed_in().user.user_id)})


@route(bp, "/me/api-keys/{key_id}", methods=["DELETE"])
def revoke_api_key(key_id):
    from chalicelib import wiring

    wiring.accounts_store().revoke_api_key(_signed_in().user.user_id, key_id)
    return json_response({"id": key_id, "revoked": True})


@route(bp, "/me/api-keys/{key_id}/usage", methods=["GET"])
def api_key_usage(key_id):
    """SEC-4: the key's metered requests, bytes and units per day."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import api_keys

    user = _signed_in().user
    key = wiring.accounts_store().get_api_key(key_id)
    api_keys.ensure_owner(key, user.user_id)
    return json_response({"id": key_id, "usage": wiring.usage_meter().usage(key_id)})


@route(bp, "/me/telegram", methods=["PUT"])
def link_telegram():
    """ACC-6: link the Telegram account whose login-widget data Telegram signed."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import telegram
    from chalicelib.domain.accounts.profile import profile_view
    from chalicelib.store.secrets import secret

    body = parse_body(_bodies()["TelegramLink"], json_body(bp))
    user_id = _signed_in().user.user_id
    store = wiring.accounts_store()
    telegram.link(store, wiring.profile(), user_id, body.widget, secret("telegram-bot-token"))
    return json_response(profile_view(store.get_user(user_id, consistent=True)))


@route(bp, "/me/telegram", methods=["DELETE"])
def unlink_telegram():
    """ACC-6: unlinking removes the Telegram id."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import telegram
    from chalicelib.domain.accounts.profile import profile_view

    user_id = _signed_in().user.user_id
    store = wiring.accounts_store()
    telegram.unlink(store, wiring.profile(), user_id)
    return json_response(profile_view(store.get_user(user_id, consistent=True)))


@route(bp, "/me/password", methods=["PUT"])
def change_password():
    from chalicelib import wiring
    from chalicelib.domain.accounts import passwords

    body = parse_body(_bodies()["PasswordChange"], json_body(bp))
    user = _signed_in().user
    passwords.change_password(
        wiring.accounts_store(),
        wiring.profile(),
        wiring.password_hasher(),
        user,
        current=body.current_password,
        new=body.new_password,
    )
    return json_response({"status": "password_changed"})
