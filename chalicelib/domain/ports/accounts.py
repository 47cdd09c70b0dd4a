"""What the accounts domain speaks: accounts, login codes, sessions, API keys and abuse counters as
frozen dataclasses, the stores and gateways it needs as Protocols, and the one-way derivations both
sides of the port compute (lookup keys are hashes, never the secret or the address itself).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

# -- one-way derivations (ACC-1, ACC-5, SEC-1) --------------------------------------------------


def normalize_email(email: str) -> str:
    """The one form of an address every hash and match uses (DSR-13): Unicode NFKC, then case-folded,
    so `H2.x@example.org` and `h2.x@example.org` are one person everywhere."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def email_hash(key: str, email: str) -> str:
    """Lookup key for an address (claims, login codes, rate counters; DSR-13): a keyed HMAC of the
    normalized address. An unkeyed hash of an address is reversed by guessing addresses."""
    return keyed_hash(key, "email:" + normalize_email(email))


def telegram_hash(key: str, telegram_id: str) -> str:
    """A Telegram id where it becomes a key (the claim that links it to one user; DSR-13): ids are
    small integers, so an unkeyed hash of one is reversed by counting."""
    return keyed_hash(key, "telegram:" + telegram_id)


def user_hash(key: str, user_id: str) -> str:
    """A user id where it becomes part of a key that erasure does not delete (rate counters, DSR-13)."""
    return keyed_hash(key, "user:" + user_id)


def erased_hash(key: str, user_id: str) -> str:
    """What an erasure keeps for the backup window (DSR-13): no live key is derived this way, so it
    finds nothing but the same person's items in a restored backup."""
    return keyed_hash(key, "erased:" + user_id)


def token_hash(token: str) -> str:
    """Session tokens, API key secrets, nonces and webhook or cancel tokens carry 128 bits or more of
    randomness: a plain SHA-256 suffices to store them (ACC-5)."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 for low-entropy values (login codes, IPs) that a plain hash would not hide."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes or tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


def network_of(ip: str) -> str:
    """IPv6 clients rotate addresses inside their /64, so the /64 is the unit; IPv4 stays whole."""
    address = ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


# -- what the stores hold ---------------------------------------------------------------------

ACTIVE, DISABLED, ERASED = "active", "disabled", "erased"
ACCOUNT_STATUSES = frozenset({ACTIVE, DISABLED, ERASED})


@dataclass(frozen=True, slots=True)
class Preferences:
    """ACC-8: interface language and theme, and which notifications the user wants."""

    language: str | None = None
    theme: str | None = None
    notifications: tuple[tuple[str, bool], ...] = ()  # (kind, wanted), sorted by kind


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the domain sees it. `version` guards profile corrections (optimistic writes)."""

    user_id: str
    email: str
    created_at: datetime
    email_verified: bool = False
    status: str = ACTIVE
    username: str | None = None
    display_name: str | None = None
    picture: str | None = None
    password_hash: str | None = None  # argon2id (ACC-2)
    telegram_id: str | None = None  # ACC-6
    processing_restricted: bool = False  # DSR-5
    objections: frozenset[str] = frozenset()  # DSR-5
    preferences: Preferences | None = None
    minimum_age_attested: int | None = None  # ACC-7
    age_attested_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class NewAccount:
    user_id: str
    email: str
    email_verified: bool
    minimum_age_attested: int
    display_name: str | None = None
    picture: str | None = None
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileCorrection:
    """A partial correction (DSR-3); None leaves a field as it is."""

    username: str | None = None
    display_name: str | None = None
    preferences: Preferences | None = None


@dataclass(frozen=True, slots=True)
class LoginCode:
    """ACC-1: only the code's keyed hash is kept, with the attempts it has left."""

    hashed_email: str
    code_hash: str
    attempts_left: int


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str
    user_id: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    """ACC-5: the key id is the visible prefix; only the secret's hash is kept."""

    key_id: str
    user_id: str
    secret_hash: str
    created_at: datetime
    name: str | None = None
    scopes: frozenset[str] = frozenset()
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key_id: str
    user_id: str
    secret_hash: str
    scopes: frozenset[str]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class AbuseSignal:
    """What a sign-in looked like (SEC-1..3), with the IP and fingerprint as keyed hashes only."""

    event: str
    ip_hash: str
    sort: str
    owner_id: str | None = None
    fingerprint_hash: str | None = None
    user_agent: str | None = None
    accept_language: str | None = None


@dataclass(frozen=True, slots=True)
class UsageDay:
    """One API key's metered use on one day (SEC-4)."""

    day: date
    requests: int
    volume_bytes: int
    units: int


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    """Only what the profile keeps from a verified Google ID token: email, name, picture (ACC-3)."""

    email: str
    email_verified: bool
    name: str | None = None
    picture: str | None = None


# -- the ports --------------------------------------------------------------------------------


class AccountStore(Protocol):
    """Users with their unique claims (email, username, Telegram id), login codes, one-time nonces,
    sessions and API keys. Writes that would break a uniqueness raise errors.Conflict; updates of a
    missing account raise errors.NotFound; expired items read as absent."""

    def get_user(self, user_id: str, *, consistent: bool = False) -> Account | None: ...
    def address_key(self, email: str) -> str: ...  # email_hash with the store's server secret
    def find_user_id_by_email(self, email: str) -> str | None: ...
    def find_user_id_by_telegram(self, telegram_id: str) -> str | None: ...
    def create_user(self, account: NewAccount) -> None: ...
    def set_status(self, user_id: str, status: str) -> None: ...
    def set_processing_flags(
        self, user_id: str, *, restricted: bool | None = None, objections: Iterable[str] | None = None
    ) -> None: ...
    def mark_email_verified(self, user_id: str, *, revoke_password: bool = False) -> None: ...
    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    def update_profile(self, account: Account, correction: ProfileCorrection) -> None: ...
    def link_telegram(self, account: Account, telegram_id: str) -> None: ...
    def unlink_telegram(self, account: Account) -> None: ...

    def put_login_code(self, code: LoginCode, *, expires_at: datetime) -> None: ...
    def get_login_code(self, hashed_email: str) -> LoginCode | None: ...
    def spend_login_attempt(self, hashed_email: str) -> bool: ...
    def delete_login_code(self, hashed_email: str) -> bool: ...

    def put_nonce(self, nonce_hash: str, purpose: str, expires_at: datetime) -> None: ...
    def take_nonce(self, nonce_hash: str, purpose: str) -> bool: ...

    def create_session(self, token_hash: str, user_id: str, expires_at: datetime) -> None: ...
    def get_session(self, token_hash: str) -> Session | None: ...
    def get_session_and_user(self, token_hash: str, user_id: str) -> tuple[Session | None, Account | None]:
        """Both live items in one round trip (the token names its user; issue 16, P2)."""
        ...

    def delete_session(self, token_hash: str) -> None: ...
    def delete_sessions_of(self, user_id: str, *, keep: str | None = None) -> int: ...

    def put_api_key(self, key: NewApiKey) -> None: ...
    def get_api_key(self, key_id: str) -> ApiKey | None: ...
    def api_keys_of(self, user_id: str) -> list[ApiKey]: ...
    def revoke_api_key(self, user_id: str, key_id: str) -> None: ...
    def touch_api_key(self, key_id: str, at: datetime) -> None: ...


class AbuseStore(Protocol):
    """Fixed-window counters, sign-in signals and per-key daily usage meters (SEC-1..4)."""

    def hit(self, route_class: str, subject_hash: str, window_start: int, *, limit: int, expires_at: datetime) -> bool:
        """Count one request in the window; False (nothing counted) once `limit` is reached."""
        ...

    def record_signal(self, signal: AbuseSignal) -> None: ...
    def meter(self, key_id: str, owner_id: str, day: date, *, volume_bytes: int, units: int) -> None: ...
    def usage(self, key_id: str) -> list[UsageDay]: ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str) -> object: ...


class PasswordHasher(Protocol):
    """argon2id (ACC-2): verify raises VerificationError or InvalidHashError on a mismatch."""

    def hash(self, password: str) -> str: ...
    def verify(self, hashed: str, password: str) -> bool: ...
    def check_needs_rehash(self, hashed: str) -> bool: ...


class GoogleVerifier(Protocol):
    def verify(self, id_token: str, nonce: str) -> GoogleIdentity: ...


class Secrets(Protocol):
    """A secret by its parameter name, read when first needed."""

    def __call__(self, name: str) -> str: ...
