"""Create users straight through the accounts store, for tests that start below the HTTP edge."""

from __future__ import annotations

import uuid


def make_user(email: str | None = None) -> tuple[str, str]:
    """(user_id, email) of a fresh, verified, active user."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.hashing import email_hash

    user_id = uuid.uuid4().hex
    email = email or f"person-{user_id[:8]}@example.org"
    wiring.accounts_store().create_user(
        user_id=user_id,
        email=email,
        email_hash=email_hash(email),
        email_verified=True,
        minimum_age_attested=wiring.profile().minimum_age,
    )
    return user_id, email
