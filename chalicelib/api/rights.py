"""HTTP routes: the data subject's rights (export, erasure, requests, consent, restriction, contact)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import email_address, json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _user_id() -> str:
    from chalicelib.api.identity import require_user

    return require_user(bp.current_request).user_id


def _deps():
    from chalicelib import wiring

    return wiring.rights_deps()


def _find_user_id(email: str | None) -> str | None:
    from chalicelib import wiring

    return wiring.accounts_store().find_user_id_by_email(email) if email else None


def _code_key() -> str:
    from chalicelib.store.secrets import secret

    return secret("login-code-key")


def _models():
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    EmailStr = email_address()

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class Cancel(Strict):
        token: str = Field(min_length=10, max_length=200)

    class EmailRequest(Strict):
        kind: Literal["access", "portability", "rectification", "erasure", "restriction", "objection"]
        email: EmailStr

    class Verify(Strict):
        code: str = Field(pattern=r"^\d{6}$")

    class SignedInRequest(Strict):
        kind: Literal["rectification", "objection", "restriction"]

    class ConsentChange(Strict):
        purpose: Literal["marketing", "service_improvement"]
        granted: bool

    class Processing(Strict):
        restricted: bool | None = None
        objections: list[Literal["generation", "service_improvement", "marketing"]] | None = None

    class Contact(Strict):
        email: EmailStr | None = None
        subject: str = Field(min_length=1, max_length=200)
        body: str = Field(min_length=1, max_length=10_000)

    return locals()


def _parse(name: str):
    return parse_body(_models()[name], json_body(bp))


# -- export (DSR-1, DSR-2) ---------------------------------------------------------------------
@route(bp, "/me/exports", methods=["POST"])
def start_export():
    from chalicelib.domain.rights import export

    return json_response(export.request_export(_deps(), _user_id()), status=202)


@route(bp, "/me/exports/{export_id}", methods=["GET"])
def export_status(export_id):
    from chalicelib.domain.rights import export

    return json_response(export.status(_deps(), _user_id(), export_id))


# -- erasure (DSR-4, DSR-9) --------------------------------------------------------------------
@route(bp, "/me", methods=["DELETE"])
def delete_me():
    from chalicelib.domain.rights import erasure

    return json_response(erasure.request_erasure(_deps(), _user_id()), status=202)


@route(bp, "/me/erasure/cancel", methods=["POST"])
def cancel_erasure():
    """No session needed: the account is disabled; the code emailed at deletion proves identity."""
    from chalicelib.domain.rights import erasure

    return json_response(erasure.cancel_erasure(_deps(), _parse("Cancel").token))


# -- requests ledger (DSR-7, DSR-8) --------------------------------------------------------------
def _limit_anonymous_requests(email: str) -> None:
    """SEC-1: each request mails a code, so both the sender and the mailbox are limited."""
    from chalicelib import wiring
    from chalicelib.api.auth import client_ip

    limiter = wiring.rate_limiter()
    limiter.check("rights_request", client_ip(bp.current_request))
    limiter.check_address("rights_request_email", email)


@route(bp, "/requests", methods=["POST"])
def request_by_email():
    from chalicelib.domain.rights import requests

    body = _parse("EmailRequest")
    _limit_anonymous_requests(str(body.email))
    return json_response(
        requests.submit_by_email(
            _deps(), kind=body.kind, email=str(body.email), code_key=_code_key(), find_user_id=_find_user_id
        ),
        status=202,
    )


@route(bp, "/requests/{request_id}/verify", methods=["POST"])
def verify_request(request_id):
    from chalicelib import wiring
    from chalicelib.domain.rights import requests

    code = _parse("Verify").code
    return json_response(
        requests.verify_by_email(
            _deps(),
            request_id=request_id,
            code=code,
            code_key=_code_key(),
            limiter=wiring.rate_limiter(),
            find_user_id=_find_user_id,
        )
    )


@route(bp, "/me/requests", methods=["GET"])
def my_requests():
    from chalicelib.domain.rights import requests

    deps = _deps()
    return json_response({"requests": [requests.describe(r) for r in deps.rights.user_requests(_user_id())]})


@route(bp, "/me/requests", methods=["POST"])
def request_signed_in():
    from chalicelib.domain.rights import requests

    kind = _parse("SignedInRequest").kind
    request = requests.open_request(_deps(), kind=kind, user_id=_user_id(), actor="user")
    return json_response(requests.describe(request), status=202)


# -- consent, restriction, objection (DSR-5, DSR-6) -------------------------------------------
@route(bp, "/me/consents", methods=["GET"])
def consents():
    from chalicelib.domain.rights import consent

    return json_response(consent.current_consents(_deps(), _user_id()))


@route(bp, "/me/consents", methods=["POST"])
def change_consent():
    from chalicelib.domain.rights import consent

    body = _parse("ConsentChange")
    return json_response(consent.record_consent(_deps(), _user_id(), body.purpose, body.granted))


@route(bp, "/me/processing", methods=["PUT"])
def processing():
    from chalicelib.domain.rights import consent

    body = _parse("Processing")
    return json_response(
        consent.set_processing(_deps(), _user_id(), restricted=body.restricted, objections=body.objections)
    )


# -- contact messages (DSR-10) ---------------------------------------------------------------
@route(bp, "/contact", methods=["POST"])
def contact():
    from chalicelib.domain.rights import contact as contact_messages

    body = _parse("Contact")
    user_id = _user_id() if bp.current_request.headers.get("authorization") else None
    email = str(body.email) if body.email else None
    idempotency_key = bp.current_request.headers.get("idempotency-key")
    if idempotency_key:
        attempt = {
            "idempotency_key": idempotency_key,
            "sender": user_id or email,
            "user_id": user_id,
            "email": email,
            "subject": body.subject,
            "body": body.body,
        }
        result = contact_messages.submit_once(_deps(), attempt=attempt, find_user_id=_find_user_id)
    else:
        result = contact_messages.submit(
            _deps(), user_id=user_id, email=email, subject=body.subject, body=body.body, find_user_id=_find_user_id
        )
    return json_response(result, status=201)
