"""In-memory accounts and abuse stores (ports.accounts), with the DynamoDB adapters' semantics:
uniqueness claims raise Conflict, conditional updates fail the same way, expired items read as
absent (the clock is `chalicelib.clock`, which tests move)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

from chalicelib import clock, errors
from chalicelib.domain.ports.accounts import (
    ACCOUNT_STATUSES,
    ACTIVE,
    AbuseSignal,
    Account,
    ApiKey,
    GoogleIdentity,
    LoginCode,
    NewAccount,
    NewApiKey,
    ProfileCorrection,
    Session,
    UsageDay,
    email_hash,
    normalize_email,
)


class _Expiring:
    """Values with an optional expiry; an expired value reads as absent."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[object, datetime | None]] = {}

    def put(self, key: str, value: object, expires_at: datetime | None = None) -> None:
        self._items[key] = (value, expires_at)

    def get(self, key: str):
        value, expires_at = self._items.get(key, (None, None))
        if expires_at is not None and expires_at <= clock.now():
            return None
        return value

    def pop(self, key: str):
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def replace(self, key: str, value: object) -> None:
        """A new value under the same expiry."""
        self._items[key] = (value, self._items[key][1])

    def remove_where(self, predicate) -> int:
        doomed = [k for k, (value, _) in self._items.items() if predicate(value)]
        for key in doomed:
            del self._items[key]
        return len(doomed)


class FakeAccountStore:
    def __init__(self) -> None:
        self.users: dict[str, Account] = {}
        self.claims: dict[tuple[str, str], str] = {}  # (kind, value) -> user id
        self.codes = _Expiring()
        self.nonces = _Expiring()
        self.sessions = _Expiring()
        self.keys: dict[str, ApiKey] = {}

    # -- users ---------------------------------------------------------------------------------
    def get_user(self, user_id: str, *, consistent: bool = False) -> Account | None:
        return self.users.get(user_id)

    def find_user_id_by_email(self, email: str) -> str | None:
        return self.claims.get(("EMAIL", email_hash(email)))

    def find_user_id_by_telegram(self, telegram_id: str) -> str | None:
        return self.claims.get(("TELEGRAM", telegram_id))

    def create_user(self, account: NewAccount) -> None:
        claim = ("EMAIL", email_hash(account.email))
        if account.user_id in self.users or claim in self.claims:
            raise errors.Conflict("That email address is already in use.")
        now = clock.now()
        self.users[account.user_id] = Account(
            user_id=account.user_id,
            email=normalize_email(account.email),
            created_at=now,
            email_verified=account.email_verified,
            status=ACTIVE,
            display_name=account.display_name,
            picture=account.picture,
            password_hash=account.password_hash,
            minimum_age_attested=account.minimum_age_attested,
            age_attested_at=now,
            version=1,
        )
        self.claims[claim] = account.user_id

    def _update(self, user_id: str, **changes) -> None:
        user = self.users.get(user_id)
        if user is None:
            raise errors.NotFound("No such account.")
        self.users[user_id] = dataclasses.replace(user, version=user.version + 1, **changes)

    def _update_versioned(self, account: Account, **changes) -> None:
        current = self.users.get(account.user_id)
        if current is None or current.version != account.version:
            raise errors.Conflict("The profile changed meanwhile.")
        self._update(account.user_id, **changes)

    def set_status(self, user_id: str, status: str) -> None:
        if status not in ACCOUNT_STATUSES:
            raise ValueError(status)
        self._update(user_id, status=status)

    def set_processing_flags(
        self, user_id: str, *, restricted: bool | None = None, objections: Iterable[str] | None = None
    ) -> None:
        changes: dict = {}
        if restricted is not None:
            changes["processing_restricted"] = restricted
        if objections is not None:
            changes["objections"] = frozenset(objections)
        if changes:
            self._update(user_id, **changes)

    def mark_email_verified(self, user_id: str, *, revoke_password: bool = False) -> None:
        changes: dict = {"email_verified": True}
        if revoke_password:
            changes["password_hash"] = None
        self._update(user_id, **changes)

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._update(user_id, password_hash=password_hash)

    def update_profile(self, account: Account, correction: ProfileCorrection) -> None:
        changes: dict = {}
        if correction.display_name is not None:
            changes["display_name"] = correction.display_name
        if correction.preferences is not None:
            changes["preferences"] = correction.preferences
        new_name = correction.username if correction.username not in (None, account.username) else None
        if new_name is not None:
            holder = self.claims.get(("USERNAME", new_name.lower()))
            if holder not in (None, account.user_id):
                raise errors.Conflict("That username is already in use, or the profile changed meanwhile.")
            changes["username"] = new_name
        if not changes:
            return
        try:
            self._update_versioned(account, **changes)
        except errors.Conflict as exc:
            raise errors.Conflict("That username is already in use, or the profile changed meanwhile.") from exc
        if new_name is not None:
            self.claims[("USERNAME", new_name.lower())] = account.user_id
            if account.username and account.username.lower() != new_name.lower():
                self.claims.pop(("USERNAME", account.username.lower()), None)

    def link_telegram(self, account: Account, telegram_id: str) -> None:
        holder = self.claims.get(("TELEGRAM", telegram_id))
        current = self.users.get(account.user_id)
        if holder not in (None, account.user_id) or current is None or current.version != account.version:
            raise errors.Conflict("That Telegram account is already in use.")
        self._update(account.user_id, telegram_id=telegram_id)
        self.claims[("TELEGRAM", telegram_id)] = account.user_id
        if account.telegram_id and account.telegram_id != telegram_id:
            self.claims.pop(("TELEGRAM", account.telegram_id), None)

    def unlink_telegram(self, account: Account) -> None:
        self._update_versioned(account, telegram_id=None)
        if account.telegram_id:
            self.claims.pop(("TELEGRAM", account.telegram_id), None)

    # -- login codes -----------------------------------------------------------------------------
    def put_login_code(self, code: LoginCode, *, expires_at: datetime) -> None:
        self.codes.put(code.hashed_email, code, expires_at)

    def get_login_code(self, hashed_email: str) -> LoginCode | None:
        return self.codes.get(hashed_email)

    def spend_login_attempt(self, hashed_email: str) -> bool:
        code = self.codes.get(hashed_email)
        if code is None or code.attempts_left <= 0:
            return False
        self.codes.replace(hashed_email, dataclasses.replace(code, attempts_left=code.attempts_left - 1))
        return True

    def delete_login_code(self, hashed_email: str) -> bool:
        return self.codes.pop(hashed_email) is not None

    # -- nonces ------------------------------------------------------------------------------------
    def put_nonce(self, nonce_hash: str, purpose: str, expires_at: datetime) -> None:
        self.nonces.put(nonce_hash, purpose, expires_at)

    def take_nonce(self, nonce_hash: str, purpose: str) -> bool:
        if self.nonces.get(nonce_hash) != purpose:
            return False
        return self.nonces.pop(nonce_hash) is not None

    # -- sessions ----------------------------------------------------------------------------------
    def create_session(self, token_hash: str, user_id: str, expires_at: datetime) -> None:
        self.sessions.put(token_hash, Session(token_hash, user_id), expires_at)

    def get_session(self, token_hash: str) -> Session | None:
        return self.sessions.get(token_hash)

    def delete_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash)

    def delete_sessions_of(self, user_id: str, *, keep: str | None = None) -> int:
        return self.sessions.remove_where(lambda session: session.user_id == user_id and session.token_hash != keep)

    # -- API keys ----------------------------------------------------------------------------------
    def put_api_key(self, key: NewApiKey) -> None:
        if key.key_id in self.keys:
            raise errors.Conflict("Key id collision; try again.")
        self.keys[key.key_id] = ApiKey(
            key_id=key.key_id,
            user_id=key.user_id,
            secret_hash=key.secret_hash,
            created_at=clock.now(),
            name=key.name,
            scopes=frozenset(key.scopes),
        )

    def get_api_key(self, key_id: str) -> ApiKey | None:
        return self.keys.get(key_id)

    def api_keys_of(self, user_id: str) -> list[ApiKey]:
        return [k for k in self.keys.values() if k.user_id == user_id]

    def revoke_api_key(self, user_id: str, key_id: str) -> None:
        key = self.keys.get(key_id)
        if key is None or key.user_id != user_id:
            raise errors.NotFound("No such API key.")
        self.keys[key_id] = dataclasses.replace(key, revoked_at=clock.now())

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        self.keys[key_id] = dataclasses.replace(self.keys[key_id], last_used_at=at)


class FakeAbuseStore:
    def __init__(self) -> None:
        self.counters = _Expiring()
        self.signals: list[AbuseSignal] = []
        self.meters: dict[tuple[str, date], UsageDay] = {}

    def hit(self, route_class: str, subject_hash: str, window_start: int, *, limit: int, expires_at: datetime) -> bool:
        key = f"{route_class}#{subject_hash}#{window_start}"
        hits = self.counters.get(key) or 0
        if hits >= limit:
            return False
        self.counters.put(key, hits + 1, expires_at)
        return True

    def record_signal(self, signal: AbuseSignal) -> None:
        self.signals.append(signal)

    def meter(self, key_id: str, owner_id: str, day: date, *, volume_bytes: int, units: int) -> None:
        current = self.meters.get((key_id, day), UsageDay(day, 0, 0, 0))
        self.meters[(key_id, day)] = UsageDay(
            day, current.requests + 1, current.volume_bytes + volume_bytes, current.units + units
        )

    def usage(self, key_id: str) -> list[UsageDay]:
        return sorted((u for (k, _), u in self.meters.items() if k == key_id), key=lambda u: u.day)


class FakeMailer:
    """Keeps every message sent: (to, subject, text)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, text: str) -> str:
        self.sent.append((to, subject, text))
        return f"message-{len(self.sent)}"

    def last_code_for(self, address: str) -> str:
        text = next(text for to, _, text in reversed(self.sent) if to == address)
        return text.split("code is ", 1)[1].split()[0]


class FakeGoogle:
    """Accepts an ID token spelled "<email>|<nonce>" (verified unless the email starts with "unverified")."""

    def verify(self, id_token: str, nonce: str) -> GoogleIdentity:
        email, _, minted_for = id_token.partition("|")
        if minted_for != nonce:
            raise errors.Unauthenticated("The Google ID token was not issued for this sign-in.")
        return GoogleIdentity(email=email, email_verified=not email.startswith("unverified"), name="G", picture=None)
