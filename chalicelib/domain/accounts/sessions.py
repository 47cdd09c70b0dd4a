"""Sessions: opaque random tokens, stored only as hashes, expiring after the profile's session_days."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.domain.ports.accounts import AccountStore, Session, token_hash
from chalicelib.profile.schema import Profile

API_KEY_PREFIX = "pk_"


@dataclass(frozen=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime
    max_age: int


def csrf_token_for(token: str) -> str:
    """Double-submit value bound to the session: a site that cannot read the session cannot forge it."""
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()[:43]


def open_session(store: AccountStore, profile: Profile, user_id: str) -> IssuedSession:
    token = "s_" + secrets.token_urlsafe(32)
    lifetime = timedelta(days=profile.sign_in.session_days)
    expires_at = clock.now() + lifetime
    store.create_session(token_hash(token), user_id, expires_at)
    return IssuedSession(token, csrf_token_for(token), expires_at, int(lifetime.total_seconds()))


def session_of(store: AccountStore, token: str) -> Session | None:
    """The live session for a token, or None."""
    if not token or token.startswith(API_KEY_PREFIX):
        return None
    return store.get_session(token_hash(token))


def close_session(store: AccountStore, token: str) -> None:
    store.delete_session(token_hash(token))


def close_all_sessions(store: AccountStore, user_id: str) -> int:
    return store.delete_sessions_of(user_id)


def close_other_sessions(store: AccountStore, user_id: str, current_token: str | None) -> int:
    """Every session of the user but the caller's own."""
    return store.delete_sessions_of(user_id, keep=token_hash(current_token) if current_token else None)
