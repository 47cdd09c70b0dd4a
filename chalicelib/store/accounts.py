"""The accounts table: users, uniqueness claims, login codes, sessions and API keys.

Implements the accounts port (chalicelib/domain/ports/accounts.py): records stay here, the domain
gets frozen dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib import clock, errors
from chalicelib.domain.ports import accounts as port
from chalicelib.domain.ports.accounts import email_hash, normalize_email, telegram_hash
from chalicelib.store.models.accounts import ApiKey, Claim, LoginCode, Nonce, Preferences, Session, User

EMAIL, USERNAME, TELEGRAM = "EMAIL", "USERNAME", "TELEGRAM"
_CLAIM_LABELS = {EMAIL: "email address", USERNAME: "username", TELEGRAM: "Telegram account"}


def _conflict(kinds: Iterable[str]) -> errors.Conflict:
    labels = " or ".join(_CLAIM_LABELS[k] for k in kinds)
    return errors.Conflict(f"That {labels} is already in use.")


def _preferences(record: Preferences | None) -> port.Preferences | None:
    if record is None:
        return None
    notifications = record.notifications.as_dict() if record.notifications else {}
    return port.Preferences(
        language=record.language,
        theme=record.theme,
        notifications=tuple(sorted((str(k), bool(v)) for k, v in notifications.items())),
    )


def _live(future, record_class):
    """A transactional read's record, if it exists and has not expired."""
    try:
        record = future.get()
    except record_class.DoesNotExist:
        return None
    return record if record.is_live() else None


def _account(user: User) -> port.Account:
    return port.Account(
        user_id=user.user_id,
        email=user.email,
        created_at=user.created_at,
        email_verified=bool(user.email_verified),
        status=user.status,
        username=user.username,
        display_name=user.display_name,
        picture=user.picture,
        password_hash=user.password_hash,
        telegram_id=user.telegram_id,
        processing_restricted=bool(user.processing_restricted),
        objections=frozenset(user.objections or ()),
        preferences=_preferences(user.preferences),
        minimum_age_attested=int(user.minimum_age_attested) if user.minimum_age_attested is not None else None,
        age_attested_at=user.age_attested_at,
        version=int(user.version or 0),
    )


def _versioned(account: port.Account) -> User:
    """The user record to update in a transaction: its version guards the write (optimistic)."""
    return User(*User.key(account.user_id), user_id=account.user_id, version=account.version)


def _api_key(record: ApiKey) -> port.ApiKey:
    return port.ApiKey(
        key_id=record.key_id,
        user_id=record.user_id,
        secret_hash=record.secret_hash,
        created_at=record.created_at,
        name=record.name,
        scopes=frozenset(record.scopes or ()),
        last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
    )


class AccountsStore:
    """The DynamoDB adapter of `ports.accounts.AccountStore` (ACC-1..10)."""

    def __init__(self, subject_key: Callable[[], str]) -> None:
        self._table = User._get_connection()
        self._subject_key = subject_key  # the server secret of every identifier hash (DSR-13)

    def address_key(self, email: str) -> str:
        return email_hash(self._subject_key(), email)

    def _telegram_key(self, telegram_id: str) -> str:
        return telegram_hash(self._subject_key(), telegram_id)

    def _transaction(self) -> TransactWrite:
        return TransactWrite(connection=self._table.connection)

    # -- users ---------------------------------------------------------------------------------
    def get_user(self, user_id: str, *, consistent: bool = False) -> port.Account | None:
        user = User.get_live(*User.key(user_id), consistent_read=consistent)
        return _account(user) if user else None

    def find_user_id_by_email(self, email: str) -> str | None:
        """The id of the user holding this email address, if any (looked up by its hash)."""
        claim = Claim.get_live(*Claim.key(EMAIL, self.address_key(email)), consistent_read=True)
        return claim.user_id if claim else None

    def find_user_id_by_telegram(self, telegram_id: str) -> str | None:
        claim = Claim.get_live(*Claim.key(TELEGRAM, self._telegram_key(telegram_id)), consistent_read=True)
        return claim.user_id if claim else None

    def create_user(self, account: port.NewAccount) -> None:
        """Write the user and its email claim in one transaction; Conflict when the email is taken."""
        now = clock.now()
        user = User(
            *User.key(account.user_id),
            user_id=account.user_id,
            owner_id=account.user_id,
            email=normalize_email(account.email),
            email_verified=account.email_verified,
            status=port.ACTIVE,
            display_name=account.display_name,
            picture=account.picture,
            password_hash=account.password_hash,
            minimum_age_attested=account.minimum_age_attested,
            age_attested_at=now,
            created_at=now,
        )
        claim_key = Claim.key(EMAIL, self.address_key(account.email))
        claim = Claim(*claim_key, user_id=account.user_id, owner_id=account.user_id)
        try:
            with self._transaction() as tx:
                tx.save(user, condition=User.pk.does_not_exist())
                tx.save(claim, condition=Claim.pk.does_not_exist())
        except TransactWriteError as exc:
            raise _conflict([EMAIL]) from exc

    def _update_user(self, user_id: str, actions: list) -> None:
        """Last write wins for single flags, but the version still moves so optimistic writers notice."""
        pk, sk = User.key(user_id)
        try:
            self._table.update_item(
                pk, range_key=sk, actions=[*actions, User.version.add(1)], condition=User.pk.exists()
            )
        except UpdateError as exc:
            raise errors.NotFound("No such account.") from exc

    def set_status(self, user_id: str, status: str) -> None:
        if status not in port.ACCOUNT_STATUSES:
            raise ValueError(status)
        self._update_user(user_id, [User.status.set(status)])

    def set_processing_flags(
        self, user_id: str, *, restricted: bool | None = None, objections: Iterable[str] | None = None
    ) -> None:
        actions = []
        if restricted is not None:
            actions.append(User.processing_restricted.set(restricted))
        if objections is not None:
            wanted = set(objections)
            actions.append(User.objections.set(wanted) if wanted else User.objections.remove())
        if actions:
            self._update_user(user_id, actions)

    def mark_email_verified(self, user_id: str, *, revoke_password: bool = False) -> None:
        """One update: the address proven and, if asked, the unconfirmed password gone (ACC-10)."""
        actions = [User.email_verified.set(True)]
        if revoke_password:
            actions.append(User.password_hash.remove())
        self._update_user(user_id, actions)

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._update_user(user_id, [User.password_hash.set(password_hash)])

    def update_profile(self, account: port.Account, correction: port.ProfileCorrection) -> None:
        """Correct profile fields (DSR-3); a new username moves its claim in the same transaction.
        Conflict when the username is taken or the account changed since `account` was read."""
        actions = []
        if correction.display_name is not None:
            actions.append(User.display_name.set(correction.display_name))
        if correction.preferences is not None:
            wanted = correction.preferences
            actions.append(
                User.preferences.set(
                    Preferences(language=wanted.language, theme=wanted.theme, notifications=dict(wanted.notifications))
                )
            )
        username = correction.username
        new_name = username if username is not None and username != account.username else None
        if new_name is not None:
            actions.append(User.username.set(new_name))
        if not actions:
            return
        user_id = account.user_id
        try:
            with self._transaction() as tx:
                tx.update(_versioned(account), actions=actions)
                if new_name is not None:
                    claim = Claim(*Claim.key(USERNAME, new_name.lower()), user_id=user_id, owner_id=user_id)
                    tx.save(claim, condition=Claim.pk.does_not_exist() | (Claim.user_id == user_id))
                    if account.username and account.username.lower() != new_name.lower():
                        tx.delete(Claim(*Claim.key(USERNAME, account.username.lower())))
        except TransactWriteError as exc:
            raise errors.Conflict("That username is already in use, or the profile changed meanwhile.") from exc

    def link_telegram(self, account: port.Account, telegram_id: str) -> None:
        user_id = account.user_id
        try:
            with self._transaction() as tx:
                tx.update(_versioned(account), actions=[User.telegram_id.set(telegram_id)], condition=User.pk.exists())
                claim = Claim(*Claim.key(TELEGRAM, self._telegram_key(telegram_id)), user_id=user_id, owner_id=user_id)
                tx.save(claim, condition=Claim.pk.does_not_exist() | (Claim.user_id == user_id))
                if account.telegram_id and account.telegram_id != telegram_id:
                    tx.delete(Claim(*Claim.key(TELEGRAM, self._telegram_key(account.telegram_id))))
        except TransactWriteError as exc:
            raise _conflict([TELEGRAM]) from exc

    def unlink_telegram(self, account: port.Account) -> None:
        """ACC-6: the Telegram id leaves both the user item and its claim."""
        with self._transaction() as tx:
            tx.update(_versioned(account), actions=[User.telegram_id.remove()], condition=User.pk.exists())
            if account.telegram_id:
                tx.delete(Claim(*Claim.key(TELEGRAM, self._telegram_key(account.telegram_id))))

    # -- login codes (ACC-1) -----------------------------------------------------------------
    def put_login_code(self, code: port.LoginCode, *, expires_at: datetime) -> None:
        LoginCode(
            *LoginCode.key(code.hashed_email),
            code_hash=code.code_hash,
            attempts_left=code.attempts_left,
            created_at=clock.now(),
            expires_at=expires_at,
        ).save()

    def get_login_code(self, hashed_email: str) -> port.LoginCode | None:
        record = LoginCode.get_live(*LoginCode.key(hashed_email), consistent_read=True)
        if record is None:
            return None
        return port.LoginCode(hashed_email, record.code_hash, int(record.attempts_left))

    def spend_login_attempt(self, hashed_email: str) -> bool:
        """Atomically use one attempt; False when none is left (or the code is gone)."""
        pk, sk = LoginCode.key(hashed_email)
        try:
            self._table.update_item(
                pk,
                range_key=sk,
                actions=[LoginCode.attempts_left.add(-1)],
                condition=LoginCode.pk.exists() & (LoginCode.attempts_left > 0),
            )
        except UpdateError:
            return False
        return True

    def delete_login_code(self, hashed_email: str) -> bool:
        """Delete the code; False when another request consumed it first (a code signs in once)."""
        try:
            LoginCode(*LoginCode.key(hashed_email)).delete(condition=LoginCode.pk.exists())
        except DeleteError:
            return False
        return True

    # -- one-time nonces ----------------------------------------------------------------------
    def put_nonce(self, nonce_hash: str, purpose: str, expires_at: datetime) -> None:
        Nonce(*Nonce.key(nonce_hash), purpose=purpose, expires_at=expires_at).save()

    def take_nonce(self, nonce_hash: str, purpose: str) -> bool:
        """Consume a live nonce issued for `purpose`; False when unknown, expired or already used."""
        nonce = Nonce.get_live(*Nonce.key(nonce_hash), consistent_read=True)
        if nonce is None or nonce.purpose != purpose:
            return False
        try:
            nonce.delete(condition=Nonce.pk.exists())
        except DeleteError:
            return False
        return True

    # -- sessions -----------------------------------------------------------------------------
    def create_session(self, token_hash: str, user_id: str, expires_at: datetime) -> None:
        Session(
            *Session.key(token_hash), user_id=user_id, owner_id=user_id, created_at=clock.now(), expires_at=expires_at
        ).save()

    def get_session(self, token_hash: str) -> port.Session | None:
        record = Session.get_live(*Session.key(token_hash))
        return port.Session(token_hash, record.user_id) if record else None

    def get_session_and_user(self, token_hash: str, user_id: str) -> tuple[port.Session | None, port.Account | None]:
        """One TransactGetItems for the session, its user and whether a legal hold is in force on them
        (DSR-12: the request's writes keep their expiry aside then): a signed-in request's only read."""
        from chalicelib.store import hold_state
        from chalicelib.store.models.holds import HoldMarker

        with TransactGet(connection=self._table.connection) as read:
            session_read = read.get(Session, *Session.key(token_hash))
            user_read = read.get(User, *User.key(user_id))
            holds_read = read.get(HoldMarker, *HoldMarker.key(user_id))  # DSR-12: what this request writes
        session, user = _live(session_read, Session), _live(user_read, User)
        try:
            hold_state.note(user_id, bool(holds_read.get().hold_ids))
        except HoldMarker.DoesNotExist:
            hold_state.note(user_id, False)
        return (port.Session(token_hash, session.user_id) if session else None), (_account(user) if user else None)

    def delete_session(self, token_hash: str) -> None:
        Session(*Session.key(token_hash)).delete()

    def delete_sessions_of(self, user_id: str, *, keep: str | None = None) -> int:
        """Log out everywhere: every session of the user, found through the owner index, but the
        one whose token hash is `keep`."""
        kept = Session.key(keep)[0] if keep else None
        sessions = [s for s in Session.by_owner.query(user_id, Session.sk == Session.SORT_KEY) if s.pk != kept]
        with Session.batch_write() as batch:
            for session in sessions:
                batch.delete(session)
        return len(sessions)

    # -- API keys (ACC-5) ------------------------------------------------------------------
    def put_api_key(self, key: port.NewApiKey) -> None:
        record = ApiKey(
            *ApiKey.key(key.key_id),
            key_id=key.key_id,
            user_id=key.user_id,
            owner_id=key.user_id,
            name=key.name,
            secret_hash=key.secret_hash,
            scopes=set(key.scopes),
            created_at=clock.now(),
        )
        try:
            record.save(condition=ApiKey.pk.does_not_exist())
        except PutError as exc:
            raise errors.Conflict("Key id collision; try again.") from exc

    def get_api_key(self, key_id: str) -> port.ApiKey | None:
        record = ApiKey.get_live(*ApiKey.key(key_id))
        return _api_key(record) if record else None

    def api_keys_of(self, user_id: str) -> list[port.ApiKey]:
        return [_api_key(k) for k in ApiKey.by_owner.query(user_id, ApiKey.sk == ApiKey.SORT_KEY)]

    def revoke_api_key(self, user_id: str, key_id: str) -> None:
        """NotFound for a missing key and for someone else's (the two answer alike)."""
        try:
            ApiKey(*ApiKey.key(key_id)).update(
                actions=[ApiKey.revoked_at.set(clock.now())],
                condition=ApiKey.pk.exists() & (ApiKey.user_id == user_id),
            )
        except UpdateError as exc:
            raise errors.NotFound("No such API key.") from exc

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        ApiKey(*ApiKey.key(key_id)).update(actions=[ApiKey.last_used_at.set(at)])
