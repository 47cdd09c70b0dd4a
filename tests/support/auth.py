"""Signing people up in tests through the real login-code flow, where the profile offers it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.support.mail import allow_sending, last_code_for

ADULT_BIRTH_DATE = "1990-01-01"


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    email: str
    headers: dict[str, str]
    token: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def sign_up(client, email: str | None = None, profile: dict | None = None) -> SignedIn:
    """A new, verified, active user with a bearer session. `profile` fields (username, display_name,
    language, theme, notifications) are applied through PATCH /me afterwards. A profile without
    e-mail codes (PromptPixels: Google only) gets the account through the stores."""
    from chalicelib import wiring

    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    allow_sending()
    if "email_code" not in wiring.profile().sign_in.methods:
        signed = stored_user(email)
        if profile:
            patched = client.http.patch("/me", body=_json(profile), headers=signed.headers)
            assert patched.status_code == 200, patched.body
        return signed
    requested = client.http.post("/auth/email/code", body=_json({"email": email}), headers=_JSON)
    assert requested.status_code == 202, requested.body
    redeemed = client.http.post(
        "/auth/email/verify",
        body=_json({"email": email, "code": last_code_for(email), "birth_date": ADULT_BIRTH_DATE}),
        headers=_JSON,
    )
    assert redeemed.status_code == 200, redeemed.body
    signed = SignedIn(
        redeemed.json_body["user_id"], email, bearer(redeemed.json_body["token"]), redeemed.json_body["token"]
    )
    if profile:
        patched = client.http.patch("/me", body=_json(profile), headers=signed.headers)
        assert patched.status_code == 200, patched.body
    return signed


def sign_in_again(client, person: SignedIn) -> SignedIn:
    """Another session of an existing person, by a fresh login code."""
    requested = client.http.post("/auth/email/code", body=_json({"email": person.email}), headers=_JSON)
    assert requested.status_code == 202, requested.body
    body = _json({"email": person.email, "code": last_code_for(person.email)})
    redeemed = client.http.post("/auth/email/verify", body=body, headers=_JSON)
    assert redeemed.status_code == 200, redeemed.body
    return SignedIn(person.user_id, person.email, bearer(redeemed.json_body["token"]), redeemed.json_body["token"])


_JSON = {"Content-Type": "application/json"}


def _json(value) -> str:
    import json

    return json.dumps(value)


def post_json(client, path: str, body, headers: dict | None = None):
    return client.http.post(path, body=_json(body), headers={**_JSON, **(headers or {})})


def unverified_user(email: str | None = None) -> SignedIn:
    """A user whose email is not verified yet, with a bearer session (built on the stores directly:
    every sign-up method of the API-key profiles verifies the address)."""
    return stored_user(email or f"unverified-{uuid.uuid4().hex[:10]}@example.com", email_verified=False)


def stored_user(email: str | None = None, *, email_verified: bool = True) -> SignedIn:
    """An adult user with a bearer session, written through the stores directly: for tests that need
    many people quickly, past the sign-in rate limits."""
    from datetime import date

    from chalicelib import wiring
    from chalicelib.domain.accounts.sessions import open_session
    from chalicelib.domain.accounts.users import create_account

    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    store = wiring.accounts_store()
    user_id = create_account(
        store,
        wiring.profile(),
        email=email,
        birth_date=date.fromisoformat(ADULT_BIRTH_DATE),
        email_verified=email_verified,
    )
    issued = open_session(store, wiring.profile(), user_id)
    return SignedIn(user_id, email, bearer(issued.token), issued.token)


def stored_user_item(user_id: str) -> dict:
    """The user's item as DynamoDB holds it (every attribute written), not the domain's view of it."""
    from chalicelib.store.models.accounts import User

    return User.get(*User.key(user_id), consistent_read=True).attribute_values


def secrets_at_rest(session, needles: list[str]) -> list[tuple[str, str]]:
    """Where any of the given raw secrets (IP, code, password, token, key) is stored; [] is clean."""
    from chalicelib import wiring
    from chalicelib.settings import get_settings
    from infra.description import describe
    from tests.support.scan import find

    return find(session, describe(get_settings(), wiring.profile()), [n for n in needles if n])


def account_for(user_id: str) -> str:
    """An account with this exact id (a buyer named in a billing test): credits go only to accounts
    that exist (PAY-6). Idempotent."""
    from chalicelib import wiring
    from chalicelib.domain.ports.accounts import NewAccount

    store = wiring.accounts_store()
    if store.get_user(user_id, consistent=True) is None:
        store.create_user(
            NewAccount(user_id=user_id, email=f"{user_id}@example.com", email_verified=True, minimum_age_attested=18)
        )
    return user_id
