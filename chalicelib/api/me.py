"""HTTP routes under /me: the signed-in user's own profile, preferences, links and API keys."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _signed_in():
    """Who calls; account-level routes answer only a person's session (api/access.py, ACC-9)."""
    from chalicelib.api.identity import authenticate

    return authenticate(bp.current_request).user


@route(bp, "/me", methods=["GET"])
def get_me():
    from chalicelib import wiring

    return json_response(wiring.accounts_service().view(_signed_in()))


@route(bp, "/me", methods=["PATCH"])
def patch_me():
    """ACC-8, DSR-3: correct username, display name and preferences."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import ProfileChange

    change = parse_body(ProfileChange, json_body(bp))
    user_id = _signed_in().user_id
    return json_response(wiring.accounts_service().correct_profile(user_id, **change.model_dump(exclude_none=True)))


@route(bp, "/me/api-keys", methods=["POST"])
def create_api_key():
    """ACC-4, ACC-5: the key is in this response only."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import NewApiKey

    body = parse_body(NewApiKey, json_body(bp))
    created = wiring.accounts_service().create_api_key(_signed_in(), name=body.name, scopes=body.scopes)
    return json_response(created, 201)


@route(bp, "/me/api-keys", methods=["GET"])
def list_api_keys():
    from chalicelib import wiring

    return json_response({"api_keys": wiring.accounts_service().list_api_keys(_signed_in().user_id)})


@route(bp, "/me/api-keys/{key_id}", methods=["DELETE"])
def revoke_api_key(key_id):
    from chalicelib import wiring

    wiring.accounts_service().revoke_api_key(_signed_in().user_id, key_id)
    return json_response({"id": key_id, "revoked": True})


@route(bp, "/me/api-keys/{key_id}/usage", methods=["GET"])
def api_key_usage(key_id):
    """SEC-4: the key's metered requests, bytes and units per day."""
    from chalicelib import wiring

    usage = wiring.accounts_service().api_key_usage(_signed_in().user_id, key_id)
    return json_response({"id": key_id, "usage": usage})


@route(bp, "/me/telegram", methods=["PUT"])
def link_telegram():
    """ACC-6: link the Telegram account whose login-widget data Telegram signed."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import TelegramWidget

    body = parse_body(TelegramWidget, json_body(bp))
    return json_response(wiring.accounts_service().link_telegram(_signed_in().user_id, body.widget))


@route(bp, "/me/telegram", methods=["DELETE"])
def unlink_telegram():
    """ACC-6: unlinking removes the Telegram id."""
    from chalicelib import wiring

    return json_response(wiring.accounts_service().unlink_telegram(_signed_in().user_id))


@route(bp, "/me/password", methods=["PUT"])
def change_password():
    from chalicelib import wiring
    from chalicelib.api.identity import authenticate
    from chalicelib.api.schemas.accounts import PasswordChange

    caller = authenticate(bp.current_request)
    body = parse_body(PasswordChange, json_body(bp))
    closed = wiring.accounts_service().change_password(caller, current=body.current_password, new=body.new_password)
    return json_response({"status": "password_changed", "other_sessions_closed": closed})
