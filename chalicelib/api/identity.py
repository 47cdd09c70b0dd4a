"""Who is calling: one authorizer that accepts a session (cookie or bearer) or an API key.

Routes call `require_user(bp.current_request)` and get a `Principal`; anonymous or invalid
credentials raise `Unauthenticated` (401). Sessions come as `Authorization: Bearer <token>` or the
session cookie the profile names (state-changing cookie requests also need `X-CSRF-Token`); API
keys as `Authorization: Bearer pk_...` or `X-Api-Key`.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# The current request's authentication, so the edge check and the view share one lookup (and one
# metered call per request).
_authenticated: ContextVar[tuple[Any, Any] | None] = ContextVar("authenticated", default=None)


@dataclass(frozen=True)
class Principal:
    user_id: str
    via: str  # "session" | "api_key"
    scopes: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None
    api_key_id: str | None = None
    # DSR-5 flags, read with the user item so processing paths need no extra round trip.
    restricted: bool = False
    objections: frozenset[str] = field(default_factory=frozenset)


def cookies_of(request) -> dict[str, str]:
    from http.cookies import SimpleCookie

    jar = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie") or "")
    except Exception:  # noqa: BLE001  (a malformed Cookie header is just no cookie)
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def credentials_of(request, cookie_names):
    from chalicelib.api.access import needed_by
    from chalicelib.domain.accounts.authorizer import Credentials

    headers = request.headers
    authorization = (headers.get("authorization") or "").strip()
    scheme, _, value = authorization.partition(" ")
    cookies = cookies_of(request)
    return Credentials(
        bearer=value.strip() or None if scheme.lower() == "bearer" else None,
        api_key=(headers.get("x-api-key") or "").strip() or None,
        session_cookie=cookies.get(cookie_names.session),
        csrf_cookie=cookies.get(cookie_names.csrf),
        csrf_header=headers.get("x-csrf-token"),
        method=request.method,
        needs=needed_by(request),
    )


def authenticate(request):
    """The domain's full result (user item included), for routes that need more than a Principal.

    The route's access rule is checked first (ACC-9); an API-key call is then rate-limited and
    metered per key (SEC-4). Once per request: a second call returns the first result."""
    from chalicelib import wiring

    earlier = _authenticated.get()
    if earlier is not None and earlier[0] is request:
        return earlier[1]
    accounts = wiring.accounts_service()
    credentials = credentials_of(request, accounts.cookies)
    result = accounts.authenticate(credentials, volume_bytes=len(request.raw_body or b""))
    _authenticated.set((request, result))
    return result


def principal_of(result) -> Principal:
    from chalicelib.domain.ports.accounts import token_hash

    user = result.user
    return Principal(
        user_id=user.user_id,
        via=result.via,
        scopes=result.scopes,
        session_id=token_hash(result.session_token) if result.session_token else None,
        api_key_id=result.api_key_id,
        restricted=user.processing_restricted,
        objections=user.objections,
    )


def require_user(request) -> Principal:
    return principal_of(authenticate(request))
