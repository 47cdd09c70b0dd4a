"""HTTP routes: sign-in by every method the profile enables, and sign-out."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import email_address, json_body, json_response, parse_body, route


def require_method(profile, method: str) -> None:
    from chalicelib.domain.accounts.methods import require_method as check

    check(profile, method)


bp = Blueprint(__name__)


def _models():
    """Request bodies, built on first use so importing the blueprint stays cheap."""
    from datetime import date
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    EmailAddress = email_address()

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class SessionChoice(Body):
        session: Literal["bearer", "cookie"] = "bearer"

    class CodeRequest(Body):
        email: EmailAddress

    class CodeRedeem(SessionChoice):
        email: EmailAddress
        code: str = Field(min_length=4, max_length=16, pattern=r"^\s*\d+\s*$")
        birth_date: date | None = None

    class PasswordSignUp(Body):
        email: EmailAddress
        password: str = Field(min_length=1, max_length=1024)
        birth_date: date | None = None

    class PasswordSignIn(SessionChoice):
        email: EmailAddress
        password: str = Field(min_length=1, max_length=1024)

    class GoogleSignIn(SessionChoice):
        id_token: str = Field(min_length=10, max_length=8192)
        nonce: str = Field(min_length=8, max_length=128)
        birth_date: date | None = None

    class TelegramSignIn(SessionChoice):
        widget: dict[str, str | int] = Field(max_length=20)

    return {
        "CodeRequest": CodeRequest,
        "CodeRedeem": CodeRedeem,
        "PasswordSignUp": PasswordSignUp,
        "PasswordSignIn": PasswordSignIn,
        "GoogleSignIn": GoogleSignIn,
        "TelegramSignIn": TelegramSignIn,
    }


def client_ip(request) -> str:
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or "0.0.0.0"  # noqa: S104


def client_traits(request):
    from chalicelib.domain.accounts.abuse import ClientTraits

    headers = request.headers
    return ClientTraits(
        ip=client_ip(request),
        user_agent=headers.get("user-agent"),
        accept_language=headers.get("accept-language"),
        fingerprint=headers.get("x-client-fingerprint"),
    )


def note_sign_in(request, method: str, user_id: str) -> None:
    from chalicelib import wiring

    wiring.abuse_signals().record(f"sign_in:{method}", client_traits(request), user_id)


def session_response(issued, user_id: str, mode: str, status: int = 200):
    """Bearer mode returns the token; cookie mode sets HttpOnly session + readable CSRF cookies."""
    from chalicelib.api.identity import CSRF_COOKIE, SESSION_COOKIE

    body = {"user_id": user_id, "expires_at": issued.expires_at.isoformat(), "session": mode}
    if mode == "bearer":
        return json_response({**body, "token": issued.token}, status)
    attributes = f"Path=/; Max-Age={issued.max_age}; Secure; SameSite=Lax"
    cookies = [
        f"{SESSION_COOKIE}={issued.token}; {attributes}; HttpOnly",
        f"{CSRF_COOKIE}={issued.csrf_token}; {attributes}",
    ]
    return json_response({**body, "csrf_token": issued.csrf_token}, status, headers={"Set-Cookie": cookies})


def open_session_response(user_id: str, mode: str):
    from chalicelib import wiring
    from chalicelib.domain.accounts.sessions import open_session

    issued = open_session(wiring.accounts_store(), wiring.profile(), user_id)
    return session_response(issued, user_id, mode)


def _expire_cookies() -> list[str]:
    from chalicelib.api.identity import CSRF_COOKIE, SESSION_COOKIE

    gone = "Path=/; Max-Age=0; Secure; SameSite=Lax"
    return [f"{SESSION_COOKIE}=; {gone}; HttpOnly", f"{CSRF_COOKIE}=; {gone}"]


@route(bp, "/auth/email/code", methods=["POST"])
def request_login_code():
    """ACC-1. Always 202: the answer never tells whether an account exists."""
    from chalicelib import wiring
    from chalicelib.domain.accounts.hashing import email_hash
    from chalicelib.domain.accounts.login_codes import request_code
    from chalicelib.store.secrets import secret

    body = parse_body(_models()["CodeRequest"], json_body(bp))
    limiter = wiring.rate_limiter()
    limiter.check("login_code", client_ip(bp.current_request))
    limiter.check_subject("login_code_email", email_hash(body.email))  # no mailbox flooding
    request_code(
        wiring.accounts_store(), wiring.email(), wiring.profile(), code_key=secret("login-code-key"), email=body.email
    )
    return json_response({"status": "sent_if_possible"}, 202)


@route(bp, "/auth/email/verify", methods=["POST"])
def redeem_login_code():
    from chalicelib import wiring
    from chalicelib.domain.accounts.login_codes import redeem_code
    from chalicelib.store.secrets import secret

    body = parse_body(_models()["CodeRedeem"], json_body(bp))
    wiring.rate_limiter().check("sign_in", client_ip(bp.current_request))
    user_id = redeem_code(
        wiring.accounts_store(),
        wiring.profile(),
        code_key=secret("login-code-key"),
        email=body.email,
        code=body.code,
        birth_date=body.birth_date,
    )
    note_sign_in(bp.current_request, "email_code", user_id)
    return open_session_response(user_id, body.session)


@route(bp, "/auth/logout", methods=["POST"])
def log_out():
    from chalicelib import wiring
    from chalicelib.api.identity import authenticate
    from chalicelib.domain.accounts.sessions import close_session

    result = authenticate(bp.current_request)
    if result.session_token:
        close_session(wiring.accounts_store(), result.session_token)
    return json_response({"status": "signed_out"}, headers={"Set-Cookie": _expire_cookies()})


@route(bp, "/auth/logout-everywhere", methods=["POST"])
def log_out_everywhere():
    from chalicelib import wiring
    from chalicelib.api.identity import authenticate
    from chalicelib.domain.accounts.sessions import close_all_sessions

    result = authenticate(bp.current_request)
    closed = close_all_sessions(wiring.accounts_store(), result.user.user_id)
    return json_response({"status": "signed_out", "sessions_closed": closed}, headers={"Set-Cookie": _expire_cookies()})


@route(bp, "/auth/password/sign-up", methods=["POST"])
def password_sign_up():
    """ACC-2. 202 either way; the emailed code (POST /auth/email/verify) verifies the address."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import passwords
    from chalicelib.store.secrets import secret

    require_method(wiring.profile(), "password")
    body = parse_body(_models()["PasswordSignUp"], json_body(bp))
    wiring.rate_limiter().check("password", client_ip(bp.current_request))
    passwords.sign_up(
        wiring.accounts_store(),
        wiring.email(),
        wiring.profile(),
        wiring.password_hasher(),
        code_key=secret("login-code-key"),
        email=body.email,
        password=body.password,
        birth_date=body.birth_date,
    )
    return json_response({"status": "verification_sent"}, 202)


@route(bp, "/auth/password/sign-in", methods=["POST"])
def password_sign_in():
    from chalicelib import wiring
    from chalicelib.domain.accounts import passwords
    from chalicelib.domain.accounts.hashing import email_hash

    require_method(wiring.profile(), "password")
    body = parse_body(_models()["PasswordSignIn"], json_body(bp))
    limiter = wiring.rate_limiter()
    limiter.check("password", client_ip(bp.current_request))
    limiter.check_subject("password_account", email_hash(body.email))
    user_id = passwords.sign_in(
        wiring.accounts_store(), wiring.profile(), wiring.password_hasher(), email=body.email, password=body.password
    )
    note_sign_in(bp.current_request, "password", user_id)
    return open_session_response(user_id, body.session)


@route(bp, "/auth/google/nonce", methods=["POST"])
def google_nonce():
    from chalicelib import wiring
    from chalicelib.domain.accounts import google

    wiring.rate_limiter().check("sign_in", client_ip(bp.current_request))
    return json_response({"nonce": google.issue_nonce(wiring.accounts_store(), wiring.profile())}, 201)


@route(bp, "/auth/google", methods=["POST"])
def google_sign_in():
    """ACC-3: a Google ID token minted for our nonce signs in (or up, keeping email, name, picture)."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import google

    require_method(wiring.profile(), "google")
    body = parse_body(_models()["GoogleSignIn"], json_body(bp))
    wiring.rate_limiter().check("sign_in", client_ip(bp.current_request))
    user_id = google.sign_in(
        wiring.accounts_store(),
        wiring.profile(),
        wiring.google_verifier(),
        id_token=body.id_token,
        nonce=body.nonce,
        birth_date=body.birth_date,
    )
    note_sign_in(bp.current_request, "google", user_id)
    return open_session_response(user_id, body.session)


@route(bp, "/auth/telegram", methods=["POST"])
def telegram_sign_in():
    """Sign in with a Telegram account already linked to a profile (ACC-6)."""
    from chalicelib import wiring
    from chalicelib.domain.accounts import telegram
    from chalicelib.store.secrets import secret

    require_method(wiring.profile(), "telegram")
    body = parse_body(_models()["TelegramSignIn"], json_body(bp))
    wiring.rate_limiter().check("sign_in", client_ip(bp.current_request))
    user_id = telegram.sign_in(wiring.accounts_store(), wiring.profile(), body.widget, secret("telegram-bot-token"))
    note_sign_in(bp.current_request, "telegram", user_id)
    return open_session_response(user_id, body.session)
