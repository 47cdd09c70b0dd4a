"""Who is calling: one authorizer that accepts a session (cookie or bearer) or an API key.

Routes call `require_user(bp.current_request)` and get a `Principal`; anonymous or invalid
credentials raise `Unauthenticated` (401).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


def require_user(request) -> Principal:  # implemented by the accounts work
    raise NotImplementedError
