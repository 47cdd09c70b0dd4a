"""The accounts area behind one object: every sign-in method, sessions, the authorizer, the profile,
Telegram links, passwords and API keys, with the rate limits and abuse signals around them.

Each route calls one method. Secrets are read when a method first needs them, and the gateways a
route may not need (mail, the password hasher, Google's keys) are built on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.domain.accounts import api_keys, google, login_codes, passwords, sessions, telegram
from chalicelib.domain.accounts.abuse import AbuseSignals, ClientTraits, RateLimiter, UsageMeter
from chalicelib.domain.accounts.authorizer import Authenticated, Credentials, authenticate
from chalicelib.domain.accounts.methods import require_method
from chalicelib.domain.accounts.profile import fresh_user, profile_view, update_profile
from chalicelib.domain.ports.accounts import (
    AbuseStore,
    Account,
    AccountStore,
    GoogleVerifier,
    Mailer,
    PasswordHasher,
    Secrets,
    email_hash,
)
from chalicelib.profile.schema import CookieRole, Profile

LOGIN_CODE_KEY = "login-code-key"  # noqa: S105  (parameter names, not secrets)
TELEGRAM_BOT_TOKEN = "telegram-bot-token"  # noqa: S105


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    session: sessions.IssuedSession


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The cookie names the profile declares (OPS-3): the policy page lists the ones we set."""

    session: str
    csrf: str


def declared_cookie(profile: Profile, role: CookieRole) -> str:
    name = profile.cookie_name(role)
    if name is None:
        raise ValueError(f"profile '{profile.service.name}' declares no cookie with role '{role}'")
    return name


class AccountsService:
    def __init__(
        self,
        *,
        store: AccountStore,
        abuse: AbuseStore,
        limiter: RateLimiter,
        profile: Profile,
        secrets: Secrets,
        ip_key: Callable[[], str],
        mail: Callable[[], Mailer],
        hasher: Callable[[], PasswordHasher],
        google_verifier: Callable[[], GoogleVerifier],
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._profile = profile
        self._secrets = secrets
        self._mail = mail
        self._hasher = hasher
        self._google_verifier = google_verifier
        self._signals = AbuseSignals(abuse, profile, ip_key)
        self._meter = UsageMeter(abuse, profile)
        self.cookies = CookieNames(declared_cookie(profile, "session"), declared_cookie(profile, "csrf"))

    def require_method(self, method: str) -> None:
        """ACC-1..3, ACC-6, OPS-1: a method the profile does not offer is a route that does not exist (404)."""
        require_method(self._profile, method)

    def _signed_in(self, method: str, user_id: str, client: ClientTraits) -> SignedIn:
        self._signals.record(f"sign_in:{method}", client, user_id)
        return SignedIn(user_id, sessions.open_session(self._store, self._profile, user_id))

    # -- sign-in ------------------------------------------------------------------------------
    def request_login_code(self, email: str, ip: str) -> None:
        """ACC-1: the same outcome whether or not the address has an account; no mailbox flooding."""
        require_method(self._profile, "email_code")
        self._limiter.check("login_code", ip)
        self._limiter.check_subject("login_code_email", email_hash(email))
        login_codes.request_code(
            self._store, self._mail(), self._profile, code_key=self._secrets(LOGIN_CODE_KEY), email=email
        )

    def sign_in_with_code(self, email: str, code: str, birth_date: date | None, client: ClientTraits) -> SignedIn:
        """ACC-1, ACC-7, ACC-10."""
        require_method(self._profile, "email_code")
        self._limiter.check("sign_in", client.ip)
        user_id = login_codes.redeem_code(
            self._store,
            self._profile,
            code_key=self._secrets(LOGIN_CODE_KEY),
            email=email,
            code=code,
            birth_date=birth_date,
        )
        return self._signed_in("email_code", user_id, client)

    def sign_up_with_password(self, email: str, password: str, birth_date: date | None, ip: str) -> None:
        """ACC-2, ACC-7, ACC-10: the emailed code verifies the address before any session."""
        self._limiter.check("password", ip)
        passwords.sign_up(
            self._store,
            self._mail(),
            self._profile,
            self._hasher(),
            code_key=self._secrets(LOGIN_CODE_KEY),
            email=email,
            password=password,
            birth_date=birth_date,
        )

    def sign_in_with_password(self, email: str, password: str, client: ClientTraits) -> SignedIn:
        """ACC-2; guesses are limited per IP and per account, whichever IPs they come from."""
        self._limiter.check("password", client.ip)
        self._limiter.check_subject("password_account", email_hash(email))
        user_id = passwords.sign_in(self._store, self._profile, self._hasher(), email=email, password=password)
        return self._signed_in("password", user_id, client)

    def issue_google_nonce(self, ip: str) -> str:
        """ACC-3: a one-time nonce the Google ID token must carry."""
        self._limiter.check("sign_in", ip)
        return google.issue_nonce(self._store, self._profile)

    def sign_in_with_google(self, id_token: str, nonce: str, birth_date: date | None, client: ClientTraits) -> SignedIn:
        """ACC-3, ACC-7: signs in, or up keeping email, name and picture only."""
        self._limiter.check("sign_in", client.ip)
        user_id = google.sign_in(
            self._store,
            self._profile,
            self._google_verifier(),
            id_token=id_token,
            nonce=nonce,
            birth_date=birth_date,
        )
        return self._signed_in("google", user_id, client)

    def sign_in_with_telegram(self, widget: dict[str, Any], client: ClientTraits) -> SignedIn:
        """ACC-6: a Telegram account already linked to a profile."""
        self._limiter.check("sign_in", client.ip)
        user_id = telegram.sign_in(self._store, self._profile, widget, self._secrets(TELEGRAM_BOT_TOKEN))
        return self._signed_in("telegram", user_id, client)

    # -- sessions and the authorizer -------------------------------------------------------------
    def authenticate(self, credentials: Credentials, *, volume_bytes: int) -> Authenticated:
        """ACC-9: the caller and what the route asks of it; an API-key call is then rate-limited and
        metered per key (SEC-4)."""
        result = authenticate(self._store, credentials, csrf_cookie=self.cookies.csrf)
        if result.api_key_id:
            self._limiter.check_subject("api_key", result.api_key_id)
            self._meter.record(result.api_key_id, result.user.user_id, volume_bytes=volume_bytes)
        return result

    def log_out(self, caller: Authenticated) -> None:
        if caller.session_token:
            sessions.close_session(self._store, caller.session_token)

    def log_out_everywhere(self, caller: Authenticated) -> int:
        """The number of sessions closed."""
        return sessions.close_all_sessions(self._store, caller.user.user_id)

    # -- the signed-in user's own account ----------------------------------------------------------
    def view(self, user: Account) -> dict:
        """ACC-8, DSR-3: what the user sees of their own account."""
        return profile_view(user)

    def correct_profile(self, user_id: str, **change: Any) -> dict:
        """ACC-8, DSR-3: a partial correction of username, display name and preferences."""
        return update_profile(self._store, user_id, **change)

    def link_telegram(self, user_id: str, widget: dict[str, Any]) -> dict:
        """ACC-6: link the Telegram account whose login-widget data Telegram signed."""
        telegram.link(self._store, self._profile, user_id, widget, self._secrets(TELEGRAM_BOT_TOKEN))
        return profile_view(fresh_user(self._store, user_id))

    def unlink_telegram(self, user_id: str) -> dict:
        """ACC-6: unlinking removes the Telegram id."""
        telegram.unlink(self._store, self._profile, user_id)
        return profile_view(fresh_user(self._store, user_id))

    def change_password(self, caller: Authenticated, *, current: str | None, new: str) -> int:
        """ACC-2: guesses at the current password are limited per person; a change signs out every
        other session (someone who knew the old password keeps nothing). The sessions closed."""
        user = caller.user
        self._limiter.check_person("password_change", user.user_id)
        passwords.change_password(self._store, self._profile, self._hasher(), user, current=current, new=new)
        return sessions.close_other_sessions(self._store, user.user_id, caller.session_token)

    # -- API keys (ACC-4, ACC-5, SEC-4) ----------------------------------------------------------
    def create_api_key(self, user: Account, *, name: str | None, scopes: list[str] | None) -> dict:
        """The key is in this answer only."""
        return api_keys.create_key(self._store, self._profile, user, name=name, scopes=scopes)

    def list_api_keys(self, user_id: str) -> list[dict]:
        return api_keys.list_keys(self._store, user_id)

    def revoke_api_key(self, user_id: str, key_id: str) -> None:
        self._store.revoke_api_key(user_id, key_id)

    def api_key_usage(self, user_id: str, key_id: str) -> list[dict]:
        """The key's metered requests, bytes and units per day; someone else's key is not found."""
        api_keys.ensure_owner(self._store.get_api_key(key_id), user_id)
        return self._meter.usage(key_id)
