"""Telegram linking (ACC-6): the login widget's signed data, checked as Telegram documents it.

secret = SHA-256(bot token); hash = HMAC-SHA256(secret, sorted "key=value" lines without `hash`).
Only the Telegram id is kept; unlinking removes it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from chalicelib import clock
from chalicelib.domain.accounts.methods import require_method
from chalicelib.domain.accounts.users import ensure_active
from chalicelib.domain.ports.accounts import AccountStore
from chalicelib.errors import Unauthenticated
from chalicelib.profile.schema import Profile

MAX_AGE_SECONDS = 600


def verified_telegram_id(data: dict[str, Any], bot_token: str) -> str:
    """The Telegram user id from widget data that Telegram signed recently; Unauthenticated otherwise."""
    fields = {str(k): str(v) for k, v in data.items() if v is not None}
    received = fields.pop("hash", "")
    check_string = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hashlib.sha256(bot_token.encode()).digest()
    expected = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    if not received or not hmac.compare_digest(expected, received.lower()):
        raise Unauthenticated("The Telegram login data is not signed by Telegram.")
    try:
        age = clock.now().timestamp() - int(fields.get("auth_date", ""))
    except ValueError as exc:
        raise Unauthenticated("The Telegram login data has no valid auth_date.") from exc
    if not -60 <= age <= MAX_AGE_SECONDS:
        raise Unauthenticated("The Telegram login data is too old; sign in with Telegram again.")
    telegram_id = fields.get("id", "")
    if not telegram_id.isdigit():
        raise Unauthenticated("The Telegram login data has no user id.")
    return telegram_id


def link(store: AccountStore, profile: Profile, user_id: str, data: dict[str, Any], bot_token: str) -> None:
    require_method(profile, "telegram")
    telegram_id = verified_telegram_id(data, bot_token)
    store.link_telegram(ensure_active(store.get_user(user_id, consistent=True)), telegram_id)


def unlink(store: AccountStore, profile: Profile, user_id: str) -> None:
    require_method(profile, "telegram")
    store.unlink_telegram(ensure_active(store.get_user(user_id, consistent=True)))


def sign_in(store: AccountStore, profile: Profile, data: dict[str, Any], bot_token: str) -> str:
    require_method(profile, "telegram")
    user_id = store.find_user_id_by_telegram(verified_telegram_id(data, bot_token))
    if user_id is None:
        raise Unauthenticated("No account is linked to this Telegram account; link it from your profile first.")
    ensure_active(store.get_user(user_id, consistent=True))
    return user_id
