"""One authorizer for every route: a session (cookie or bearer) or an API key.

Cookie-authenticated state changes must echo the CSRF token (double submit, bound to the session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.accounts import api_keys, sessions
from chalicelib.domain.accounts.hashing import same
from chalicelib.errors import Forbidden, Unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_SCOPES = api_keys.SCOPES | {"account"}


@dataclass(frozen=True)
class Credentials:
    bearer: str | None = None
    api_key: str | None = None
    session_cookie: str | None = None
    csrf_cookie: str | None = None
    csrf_header: str | None = None
    method: str = "GET"


@dataclass(frozen=True)
class Authenticated:
    user: Any
    via: str  # "session" | "api_key"
    scopes: frozenset[str]
    session_token: str | None = None
    api_key_id: str | None = None


def _check_csrf(credentials: Credentials, token: str) -> None:
    if credentials.method.upper() in SAFE_METHODS:
        return
    expected = sessions.csrf_token_for(token)
    header, cookie = credentials.csrf_header or "", credentials.csrf_cookie or ""
    if not (same(header, expected) and same(cookie, expected)):
        raise Forbidden("Missing or wrong CSRF token (send the pk_csrf cookie value as X-CSRF-Token).")


def authenticate(store: Any, credentials: Credentials) -> Authenticated:
    """Two reads for a session or a key (credential item, then user item); a key also notes its use."""
    presented_key = credentials.api_key or (
        credentials.bearer if credentials.bearer and credentials.bearer.startswith(sessions.API_KEY_PREFIX) else None
    )
    if presented_key:
        key = api_keys.key_record(store, presented_key)
        if key is None:
            raise Unauthenticated("The API key is invalid or revoked.")
        result = Authenticated(None, "api_key", frozenset(key.scopes or ()), api_key_id=key.key_id)
        user_id = key.user_id
    else:
        token = credentials.bearer or credentials.session_cookie
        if not token:
            raise Unauthenticated("Sign in first.")
        session = sessions.session_user(store, token)
        if session is None:
            raise Unauthenticated("The session is invalid or has expired.")
        if not credentials.bearer:
            _check_csrf(credentials, token)
        result = Authenticated(None, "session", ALL_SCOPES, session_token=token)
        user_id = session.user_id
    user = store.get_user(user_id)
    if user is None or user.status != "active":
        raise Unauthenticated("This account is not active.")
    return Authenticated(user, result.via, result.scopes, result.session_token, result.api_key_id)
