"""HTTP routes: sign-in by every method the profile enables, and sign-out."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


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


def session_response(signed_in, mode: str, status: int = 200):
    """Bearer mode returns the token; cookie mode sets HttpOnly session + readable CSRF cookies,
    named as the profile declares them (OPS-3)."""
    from chalicelib import wiring

    issued = signed_in.session
    body = {"user_id": signed_in.user_id, "expires_at": issued.expires_at.isoformat(), "session": mode}
    if mode == "bearer":
        return json_response({**body, "token": issued.token}, status)
    names = wiring.accounts_service().cookies
    attributes = f"Path=/; Max-Age={issued.max_age}; Secure; SameSite=Lax"
    cookies = [
        f"{names.session}={issued.token}; {attributes}; HttpOnly",
        f"{names.csrf}={issued.csrf_token}; {attributes}",
    ]
    return json_response({**body, "csrf_token": issued.csrf_token}, status, headers={"Set-Cookie": cookies})


def _expire_cookies(names) -> list[str]:
    gone = "Path=/; Max-Age=0; Secure; SameSite=Lax"
    return [f"{names.session}=; {gone}; HttpOnly", f"{names.csrf}=; {gone}"]


@route(bp, "/auth/email/code", methods=["POST"])
def request_login_code():
    """ACC-1. Always 202: the answer never tells whether an account exists."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import CodeRequest

    accounts = wiring.accounts_service()
    accounts.require_method("email_code")
    body = parse_body(CodeRequest, json_body(bp))
    accounts.request_login_code(body.email, client_ip(bp.current_request))
    return json_response({"status": "sent_if_possible"}, 202)


@route(bp, "/auth/email/verify", methods=["POST"])
def redeem_login_code():
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import CodeRedeem

    accounts = wiring.accounts_service()
    accounts.require_method("email_code")
    body = parse_body(CodeRedeem, json_body(bp))
    signed_in = accounts.sign_in_with_code(body.email, body.code, body.birth_date, client_traits(bp.current_request))
    return session_response(signed_in, body.session)


@route(bp, "/auth/logout", methods=["POST"])
def log_out():
    from chalicelib import wiring
    from chalicelib.api.identity import authenticate

    accounts = wiring.accounts_service()
    accounts.log_out(authenticate(bp.current_request))
    return json_response({"status": "signed_out"}, headers={"Set-Cookie": _expire_cookies(accounts.cookies)})


@route(bp, "/auth/logout-everywhere", methods=["POST"])
def log_out_everywhere():
    from chalicelib import wiring
    from chalicelib.api.identity import authenticate

    accounts = wiring.accounts_service()
    closed = accounts.log_out_everywhere(authenticate(bp.current_request))
    return json_response(
        {"status": "signed_out", "sessions_closed": closed}, headers={"Set-Cookie": _expire_cookies(accounts.cookies)}
    )


@route(bp, "/auth/password/sign-up", methods=["POST"])
def password_sign_up():
    """ACC-2. 202 either way; the emailed code (POST /auth/email/verify) verifies the address."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import PasswordSignUp

    accounts = wiring.accounts_service()
    accounts.require_method("password")
    body = parse_body(PasswordSignUp, json_body(bp))
    accounts.sign_up_with_password(body.email, body.password, body.birth_date, client_ip(bp.current_request))
    return json_response({"status": "verification_sent"}, 202)


@route(bp, "/auth/password/sign-in", methods=["POST"])
def password_sign_in():
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import PasswordSignIn

    accounts = wiring.accounts_service()
    accounts.require_method("password")
    body = parse_body(PasswordSignIn, json_body(bp))
    signed_in = accounts.sign_in_with_password(body.email, body.password, client_traits(bp.current_request))
    return session_response(signed_in, body.session)


@route(bp, "/auth/google/nonce", methods=["POST"])
def google_nonce():
    from chalicelib import wiring

    nonce = wiring.accounts_service().issue_google_nonce(client_ip(bp.current_request))
    return json_response({"nonce": nonce}, 201)


@route(bp, "/auth/google", methods=["POST"])
def google_sign_in():
    """ACC-3: a Google ID token minted for our nonce signs in (or up, keeping email, name, picture)."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import GoogleSignIn

    accounts = wiring.accounts_service()
    accounts.require_method("google")
    body = parse_body(GoogleSignIn, json_body(bp))
    signed_in = accounts.sign_in_with_google(
        body.id_token, body.nonce, body.birth_date, client_traits(bp.current_request)
    )
    return session_response(signed_in, body.session)


@route(bp, "/auth/telegram", methods=["POST"])
def telegram_sign_in():
    """Sign in with a Telegram account already linked to a profile (ACC-6)."""
    from chalicelib import wiring
    from chalicelib.api.schemas.accounts import TelegramSignIn

    accounts = wiring.accounts_service()
    accounts.require_method("telegram")
    body = parse_body(TelegramSignIn, json_body(bp))
    signed_in = accounts.sign_in_with_telegram(body.widget, client_traits(bp.current_request))
    return session_response(signed_in, body.session)
