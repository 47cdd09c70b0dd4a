"""API keys (ACC-4, ACC-5): only for verified emails; shown once; stored as a hash with a visible prefix."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.domain.accounts.methods import require_method
from chalicelib.domain.accounts.sessions import API_KEY_PREFIX
from chalicelib.domain.ports.accounts import Account, AccountStore, ApiKey, NewApiKey, same, token_hash
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from chalicelib.profile.schema import Profile

SCOPES = frozenset({"generate", "gallery", "uploads", "usage"})
DEFAULT_SCOPES = frozenset({"generate", "gallery", "uploads"})
MAX_KEYS = 20
LAST_USED_GRANULARITY = timedelta(minutes=1)  # spares a write on every call


def parse_key(raw: str) -> tuple[str, str] | None:
    """(key id, whole key) for a well-formed key, else None."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, rest = raw[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 10 or len(rest) < 32:
        return None
    return key_id, raw


def create_key(
    store: AccountStore, profile: Profile, user: Account, *, name: str | None, scopes: list[str] | None
) -> dict:
    require_method(profile, "api_key")
    if profile.sign_in.api_requires_verified_email and not user.email_verified:
        raise Forbidden("Verify your email address before creating an API key.", details={"reason": "email_unverified"})
    if scopes is not None and not scopes:
        # A key with no scope could do nothing (ACC-9); refusing beats silently granting the defaults.
        raise InvalidInput(
            "Name at least one scope, or leave scopes out for the defaults.", details={"allowed": sorted(SCOPES)}
        )
    wanted = frozenset(scopes) if scopes is not None else DEFAULT_SCOPES
    unknown = sorted(wanted - SCOPES)
    if unknown:
        raise InvalidInput("Unknown scopes.", details={"unknown": unknown, "allowed": sorted(SCOPES)})
    if sum(1 for k in store.api_keys_of(user.user_id) if k.revoked_at is None) >= MAX_KEYS:
        raise Forbidden(f"At most {MAX_KEYS} active API keys per account.")
    key_id = secrets.token_hex(5)
    prefix = f"{API_KEY_PREFIX}{key_id}"
    whole = f"{prefix}_{secrets.token_urlsafe(32)}"  # returned once, never stored
    store.put_api_key(NewApiKey(key_id, user.user_id, token_hash(whole), wanted, name))
    return {"id": key_id, "prefix": prefix, "key": whole, "name": name, "scopes": sorted(wanted)}


def describe(key: ApiKey) -> dict:
    return {
        "id": key.key_id,
        "prefix": f"{API_KEY_PREFIX}{key.key_id}",
        "name": key.name,
        "scopes": sorted(key.scopes),
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked": key.revoked_at is not None,
    }


def list_keys(store: AccountStore, user_id: str) -> list[dict]:
    return [describe(k) for k in sorted(store.api_keys_of(user_id), key=lambda k: k.created_at)]


def live_key(store: AccountStore, raw: str) -> ApiKey | None:
    """The live, unrevoked key matching a presented key, or None; notes when it was used."""
    parsed = parse_key(raw)
    if parsed is None:
        return None
    key = store.get_api_key(parsed[0])
    if key is None or key.revoked_at is not None or not same(key.secret_hash, token_hash(parsed[1])):
        return None
    now: datetime = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        store.touch_api_key(key.key_id, now)
    return key


def ensure_owner(key: ApiKey | None, user_id: str) -> None:
    """Someone else's key answers exactly like a missing one."""
    if key is None or key.user_id != user_id:
        raise NotFound("No such API key.")
