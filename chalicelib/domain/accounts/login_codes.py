"""ACC-1: sign-in by an emailed one-time code, stored only as a keyed hash, short-lived, few attempts."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from chalicelib import clock
from chalicelib.domain.accounts.age import check_age
from chalicelib.domain.accounts.sessions import close_all_sessions
from chalicelib.domain.accounts.users import create_account, ensure_active
from chalicelib.domain.ports.accounts import (
    AccountStore,
    LoginCode,
    Mailer,
    keyed_hash,
    normalize_email,
    same,
)
from chalicelib.errors import Forbidden, Unauthenticated
from chalicelib.observability import logger
from chalicelib.profile.schema import Profile

CODE_DIGITS = 8
_INVALID = "The code is invalid or has expired."
# What redeeming a code proves besides the address. A code mailed at password sign-up also
# confirms that password; any other code proves only the address (ACC-10).
SIGN_IN = "sign_in"
CONFIRM_PASSWORD = "confirm_password"  # noqa: S105  (a purpose name, not a secret)


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def code_hash(key: str, hashed_email: str, code: str, purpose: str = SIGN_IN) -> str:
    tag = "" if purpose == SIGN_IN else f"{purpose}:"
    return keyed_hash(key, f"{tag}{hashed_email}:{code.strip()}")


def request_code(
    store: AccountStore, mail: Mailer, profile: Profile, *, code_key: str, email: str, purpose: str = SIGN_IN
) -> None:
    """Always the same outcome for the caller, whether or not the address has an account."""
    hashed = store.address_key(email)
    code = new_code()
    minutes = profile.sign_in.login_code_minutes
    store.put_login_code(
        LoginCode(hashed, code_hash(code_key, hashed, code, purpose), profile.sign_in.login_code_attempts),
        expires_at=clock.now() + timedelta(minutes=minutes),
    )
    mail.send(
        normalize_email(email),
        f"Your {profile.service.name} sign-in code",
        f"Your sign-in code is {code}\n\nIt expires in {minutes} minutes. "
        "If you did not ask for it, ignore this email.",
    )
    logger.info("login code sent", extra={"email_hash": hashed[:12]})


def redeem_code(
    store: AccountStore, profile: Profile, *, code_key: str, email: str, code: str, birth_date: date | None = None
) -> str:
    """The user id the code signs in, creating the (verified) account on first sign-in.

    ACC-10: the first proof of an address that an unconfirmed password was set on (by anyone)
    revokes that password and every session, unless the code is the one that password's sign-up
    mailed."""
    hashed = store.address_key(email)
    record = store.get_login_code(hashed)
    if record is None or not store.spend_login_attempt(hashed):
        raise Unauthenticated(_INVALID)
    confirms_password = same(record.code_hash, code_hash(code_key, hashed, code, CONFIRM_PASSWORD))
    if not confirms_password and not same(record.code_hash, code_hash(code_key, hashed, code)):
        if record.attempts_left <= 1:  # that was the last attempt: the code dies now
            store.delete_login_code(hashed)
        raise Unauthenticated(_INVALID)
    user_id = store.find_user_id_by_email(email)
    if user_id is None:
        try:
            check_age(profile, birth_date, clock.now().date())  # missing date: the code stays usable
        except Forbidden:
            store.delete_login_code(hashed)  # ACC-7: a refused sign-up leaves nothing behind
            raise
    if not store.delete_login_code(hashed):
        raise Unauthenticated(_INVALID)  # a concurrent request used it
    if user_id is None:
        return create_account(store, profile, email=email, birth_date=birth_date, email_verified=True)
    user = ensure_active(store.get_user(user_id, consistent=True))
    if not user.email_verified:
        revoke = bool(user.password_hash) and not confirms_password
        store.mark_email_verified(user_id, revoke_password=revoke)
        if revoke:
            close_all_sessions(store, user_id)
            logger.info("unconfirmed password revoked on first proof of the address")
    return user_id
