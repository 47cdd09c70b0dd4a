"""ACC-2: password sign-in where the profile enables it. Only an argon2id hash is stored."""

from __future__ import annotations

from datetime import date

from chalicelib import clock
from chalicelib.domain.accounts import login_codes
from chalicelib.domain.accounts.age import check_age
from chalicelib.domain.accounts.methods import require_method
from chalicelib.domain.accounts.users import create_account, ensure_active
from chalicelib.domain.ports.accounts import Account, AccountStore, Mailer, PasswordHasher
from chalicelib.errors import Forbidden, InvalidInput, Unauthenticated
from chalicelib.profile.schema import Profile

MIN_LENGTH = 10
MAX_LENGTH = 128  # hashing cost grows with input; longer is no safer
_WRONG = "Wrong email or password."


def check_strength(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"A password has {MIN_LENGTH} to {MAX_LENGTH} characters.")


def sign_up(
    store: AccountStore,
    mail: Mailer,
    profile: Profile,
    hasher: PasswordHasher,
    *,
    code_key: str,
    email: str,
    password: str,
    birth_date: date | None,
) -> None:
    """Create an unverified account with a password; mail a code that verifies the address and
    confirms the password (ACC-10: no session until then).

    The caller sees the same answer whether or not the address already had an account (its
    password is then left alone and the owner just gets a sign-in code)."""
    require_method(profile, "password")
    check_strength(password)
    check_age(profile, birth_date, clock.now().date())  # refusal before any write (ACC-7)
    purpose = login_codes.SIGN_IN
    if store.find_user_id_by_email(email) is None:
        create_account(
            store,
            profile,
            email=email,
            birth_date=birth_date,
            email_verified=False,
            password_hash=hasher.hash(password),
        )
        purpose = login_codes.CONFIRM_PASSWORD
    login_codes.request_code(store, mail, profile, code_key=code_key, email=email, purpose=purpose)


def sign_in(store: AccountStore, profile: Profile, hasher: PasswordHasher, *, email: str, password: str) -> str:
    from argon2.exceptions import InvalidHashError, VerificationError

    require_method(profile, "password")
    if len(password) > MAX_LENGTH:
        raise Unauthenticated(_WRONG)
    user_id = store.find_user_id_by_email(email)
    user = store.get_user(user_id, consistent=True) if user_id else None
    stored = user.password_hash if user is not None else None
    try:
        # Without an account, verify against a dummy hash so both paths take the same time.
        hasher.verify(stored or _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthenticated(_WRONG) from exc
    if stored is None:
        raise Unauthenticated(_WRONG)
    user = ensure_active(user)
    if not user.email_verified:  # ACC-10: the address is proven before the account is anyone's
        raise Forbidden(
            "Verify your email address with the code we sent before signing in.",
            details={"reason": "email_unverified"},
        )
    if hasher.check_needs_rehash(stored):
        store.set_password_hash(user.user_id, hasher.hash(password))
    return user.user_id


def change_password(
    store: AccountStore, profile: Profile, hasher: PasswordHasher, user: Account, *, current: str | None, new: str
) -> None:
    from argon2.exceptions import InvalidHashError, VerificationError

    require_method(profile, "password")
    check_strength(new)
    if user.password_hash:
        try:
            hasher.verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError) as exc:
            # The session is valid; the proof of the password failed (403, not 401).
            raise Forbidden("The current password is wrong.") from exc
    store.set_password_hash(user.user_id, hasher.hash(new))


_DUMMY: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    return _DUMMY.setdefault(id(hasher), hasher.hash("not-a-real-password-for-timing"))
