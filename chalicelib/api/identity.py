"""Who is calling: one authorizer that accepts a session (cookie or bearer) or an API key.

Routes call `require_user(bp.current_request)` and get a `Principal`; anonymous or invalid
credentials raise `Unauthenticated` (401). Sessions come as `Authorization: Bearer <token>` or the
`pk_session` cookie (state-changing cookie requests also need `X-CSRF-Token`); API keys as
`Authorization: Bearer pk_...` or `X-Api-Key`.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

SESSION_COOKIE = "pk_session"
CSRF_COOKIE = "pk_csrf"

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


def credentials_of(request):
    from chalicelib.api.access import needed_by
    from chalicelib.domain.accounts.authorizer import Credentials

    headers = request.headers
    authorization = (headers.get("authorization") or "").strip()
    scheme, _, value = authorization.partition(" ")
    cookies = cookies_of(request)
    return Credentials(
        bearer=value.strip() or None if scheme.lower() == "bearer" else None,
        api_key=(headers.get("x-api-key") or "").strip() or None,
        session_cookie=cookies.get(SESSION_COOKIE),
        csrf_cookie=cookies.get(CSRF_COOKIE),
        csrf_header=headers.get("x-csrf-token"),
        method=request.method,
        needs=needed_by(request),
    )


def authenticate(request):
    """The domain's full result (user item included), for routes that need more than a Principal.

    The route's access rule is checked first (ACC-9); an API-key call is then rate-limited and
    metered per key (SEC-4). Once per request: a second call returns the first result."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.authorizer import authenticate as run

    earlier = _authenticated.get()
    if earlier is not None and earlier[0] is request:
        return earlier[1]
    result = run(wiring.accounts_store(), credentials_of(request))
    if result.api_key_id:
        wiring.rate_limiter().check_subject("api_key", result.api_key_id)
        wiring.usage_meter().record(result.api_key_id, result.user.user_id, volume_bytes=len(request.raw_body or b""))
    _authenticated.set((request, result))
    return result


def principal_of(result) -> Principal:
    from chalicelib.domain.accounts.hashing import token_hash

    user = result.user
    return Principal(
        user_id=user.user_id,
        via=result.via,
        scopes=result.scopes,
        session_id=token_hash(result.session_token) if result.session_token else None,
        api_key_id=result.api_key_id,
        restricted=bool(user.processing_restricted),
        objections=frozenset(user.objections or ()),
    )


def require_user(request) -> Principal:
    return principal_of(authenticate(request))
