"""Google sign-in (ACC-3): a server-issued one-time nonce, then a verified ID token signs in or up."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from chalicelib import clock
from chalicelib.domain.accounts.age import check_age
from chalicelib.domain.accounts.methods import require_method
from chalicelib.domain.accounts.users import create_account, ensure_active
from chalicelib.domain.ports.accounts import AccountStore, GoogleVerifier, token_hash
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.profile.schema import Profile

NONCE_MINUTES = 10
PURPOSE = "google"


def issue_nonce(store: AccountStore, profile: Profile) -> str:
    require_method(profile, "google")
    nonce = secrets.token_urlsafe(24)
    store.put_nonce(token_hash(nonce), PURPOSE, clock.now() + timedelta(minutes=NONCE_MINUTES))
    return nonce


def sign_in(
    store: AccountStore,
    profile: Profile,
    verifier: GoogleVerifier,
    *,
    id_token: str,
    nonce: str,
    birth_date: date | None,
) -> str:
    """The user id signed in; creates the account (email, name, picture only) on first sign-in."""
    require_method(profile, "google")
    identity = verifier.verify(id_token, nonce)
    if not identity.email_verified:
        raise Forbidden("Google has not verified this email address.")
    user_id = store.find_user_id_by_email(identity.email)
    if user_id is None:  # the age check comes before spending the nonce, so it can be resent
        check_age(profile, birth_date, clock.now().date())
    if not store.take_nonce(token_hash(nonce), PURPOSE):
        raise Unauthenticated("The sign-in nonce is unknown, expired or already used.")
    if user_id is None:
        return create_account(
            store,
            profile,
            email=identity.email,
            birth_date=birth_date,
            email_verified=True,
            display_name=identity.name,
            picture=identity.picture,
        )
    ensure_active(store.get_user(user_id, consistent=True))
    return user_id
