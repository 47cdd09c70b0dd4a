"""HTTP routes under /me: the signed-in user's own profile, preferences, links and API keys."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _signed_in():
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
    from chalicelib.domain.accounts.profile import merged_preferences, profile_view, update_profile

    change = parse_body(_profile_change_model(), json_body(bp))
    user = _signed_in().user
    preferences = merged_preferences(
        user, language=change.language, theme=change.theme, notifications=change.notifications
    )
    store = wiring.accounts_store()
    update_profile(store, user, username=change.username, display_name=change.display_name, preferences=preferences)
    return json_response(profile_view(store.get_user(user.user_id, consistent=True)))
