"""Creating accounts, whichever method signs the person up (all pass the age gate, ACC-7)."""

from __future__ import annotations

import uuid
from datetime import date

from chalicelib import clock
from chalicelib.domain.accounts.age import check_age
from chalicelib.domain.ports.accounts import ACTIVE, Account, AccountStore, NewAccount
from chalicelib.errors import Unauthenticated
from chalicelib.metrics import Metric, emit
from chalicelib.profile.schema import Profile


def new_user_id() -> str:
    return uuid.uuid4().hex


def create_account(
    store: AccountStore,
    profile: Profile,
    *,
    email: str,
    birth_date: date | None,
    email_verified: bool,
    display_name: str | None = None,
    picture: str | None = None,
    password_hash: str | None = None,
) -> str:
    """Age gate first, so a refusal writes nothing; then the user and its email claim together."""
    attested = check_age(profile, birth_date, clock.now().date())
    user_id = new_user_id()
    store.create_user(
        NewAccount(
            user_id=user_id,
            email=email,
            email_verified=email_verified,
            minimum_age_attested=attested,
            display_name=display_name,
            picture=picture,
            password_hash=password_hash,
        )
    )
    emit(Metric.SIGN_UPS)
    return user_id


def ensure_active(user: Account | None) -> Account:
    if user is None or user.status != ACTIVE:
        raise Unauthenticated("This account cannot sign in.")
    return user
