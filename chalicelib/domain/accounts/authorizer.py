"""One authorizer for every route: a session (cookie or bearer) or an API key, checked against
what the route asks of its caller (ACC-9).

Cookie-authenticated state changes must echo the CSRF token (double submit, bound to the session).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.accounts import api_keys, sessions
from chalicelib.domain.ports.accounts import ACTIVE, Account, AccountStore, same
from chalicelib.errors import Forbidden, Unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_SCOPES = api_keys.SCOPES | {"account"}

# What a route asks of its caller, besides an API-key scope (ACC-9).
SIGNED_IN = "signed_in"  # account-level: a person's session, never an API key
PUBLIC = "public"  # no credentials needed
WEBHOOK = "webhook"  # the sender's signature, checked by the route
OPERATOR = "operator"  # an operator key, checked by the route
USER_LEVEL = api_keys.SCOPES | {SIGNED_IN}


@dataclass(frozen=True, slots=True)
class Credentials:
    bearer: str | None = None
    api_key: str | None = None
    session_cookie: str | None = None
    csrf_cookie: str | None = None
    csrf_header: str | None = None
    method: str = "GET"
    needs: str | None = None  # what the route asks of its caller (api/access.py); None: undeclared


@dataclass(frozen=True, slots=True)
class Authenticated:
    user: Account
    via: str  # "session" | "api_key"
    scopes: frozenset[str]
    session_token: str | None = None
    api_key_id: str | None = None


def _check_csrf(credentials: Credentials, token: str, csrf_cookie: str) -> None:
    if credentials.method.upper() in SAFE_METHODS:
        return
    expected = sessions.csrf_token_for(token)
    header, cookie = credentials.csrf_header or "", credentials.csrf_cookie or ""
    if not (same(header, expected) and same(cookie, expected)):
        raise Forbidden(f"Missing or wrong CSRF token (send the {csrf_cookie} cookie value as X-CSRF-Token).")


def check_route_access(needs: str | None, via: str, scopes: frozenset[str]) -> None:
    """ACC-9 (with SEC-4, ACC-5): a key reaches only routes that ask for one of its scopes; a route
    that declares nothing is refused to everyone (fail closed)."""
    if needs is None:
        raise Forbidden("This route is not open to signed-in callers.", details={"reason": "route_undeclared"})
    if via != "api_key" or needs in scopes:
        return
    if needs in api_keys.SCOPES:
        raise Forbidden(f"This API key lacks the '{needs}' scope.", details={"reason": "scope_missing", "scope": needs})
    raise Forbidden("Sign in to do this; API keys cannot.", details={"reason": "session_required"})


def authenticate(store: AccountStore, credentials: Credentials, *, csrf_cookie: str) -> Authenticated:
    """One read for a session (session and user together), two for a key (key item, then user
    item; a key also notes its use)."""
    user = None
    presented_key = credentials.api_key or (
        credentials.bearer if credentials.bearer and credentials.bearer.startswith(sessions.API_KEY_PREFIX) else None
    )
    if presented_key:
        key = api_keys.live_key(store, presented_key)
        if key is None:
            raise Unauthenticated("The API key is invalid or revoked.")
        via, scopes, session_token, api_key_id = "api_key", key.scopes, None, key.key_id
        user_id = key.user_id
    else:
        token = credentials.bearer or credentials.session_cookie
        if not token:
            raise Unauthenticated("Sign in first.")
        session, user = sessions.session_and_user(store, token)
        if session is None:
            raise Unauthenticated("The session is invalid or has expired.")
        if not credentials.bearer:
            _check_csrf(credentials, token, csrf_cookie)
        via, scopes, session_token, api_key_id = "session", ALL_SCOPES, token, None
        user_id = session.user_id
    check_route_access(credentials.needs, via, scopes)
    if user is None:
        user = store.get_user(user_id)
    if user is None or user.status != ACTIVE:
        raise Unauthenticated("This account is not active.")
    return Authenticated(user, via, scopes, session_token, api_key_id)
