"""HTTP routes: the data subject's rights (export, erasure, requests, consent, restriction, contact)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _user_id() -> str:
    from chalicelib.api.identity import require_user

    return require_user(bp.current_request).user_id


def _service():
    from chalicelib import wiring

    return wiring.rights_service()


def _parse(model):
    return parse_body(model, json_body(bp))


# -- export (DSR-1, DSR-2) ---------------------------------------------------------------------
@route(bp, "/me/exports", methods=["POST"])
def start_export():
    from chalicelib.api.schemas.rights import ExportRequest

    user_id = _user_id()
    _parse(ExportRequest)
    return json_response(_service().request_export(user_id), status=202)


@route(bp, "/me/exports/{export_id}", methods=["GET"])
def export_status(export_id):
    return json_response(_service().export_status(_user_id(), export_id))


@route(bp, "/me/exports/{export_id}/download", methods=["GET"])
def export_download(export_id):
    """DSR-1: a fresh short-lived URL per download; a browser following the e-mailed link is redirected."""
    link = _service().export_download(_user_id(), export_id)
    return json_response(link, status=302, headers={"Location": link["url"], "Cache-Control": "no-store"})


# -- erasure (DSR-4, DSR-9) --------------------------------------------------------------------
@route(bp, "/me", methods=["DELETE"])
def delete_me():
    return json_response(_service().request_erasure(_user_id()), status=202)


@route(bp, "/me/erasure/cancel", methods=["GET"])
def cancel_erasure_page():
    """The e-mailed link (DSR-9) lands here: a form that posts the code. Opening the link changes
    nothing, so a mail scanner that follows it cancels no erasure."""
    from chalicelib.api.cancel_page import landing_page

    return landing_page()


@route(
    bp,
    "/me/erasure/cancel",
    methods=["POST"],
    content_types=["application/json", "application/x-www-form-urlencoded"],
)
def cancel_erasure():
    """No session needed: the account is disabled; the code emailed at deletion proves identity.
    JSON in, JSON out; the landing page's form gets a page back."""
    from chalicelib.api.cancel_page import is_form, outcome_page, token_from_form
    from chalicelib.api.schemas.rights import Cancel

    request = bp.current_request
    if not is_form(request):
        return json_response(_service().cancel_erasure(_parse(Cancel).token))
    body = parse_body(Cancel, {"token": token_from_form(request.raw_body)})
    return outcome_page(lambda: _service().cancel_erasure(body.token))


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
    from chalicelib.api.schemas.rights import EmailRequest

    body = _parse(EmailRequest)
    _limit_anonymous_requests(str(body.email))
    return json_response(_service().submit_request_by_email(kind=body.kind, email=str(body.email)), status=202)


@route(bp, "/requests/{request_id}/verify", methods=["POST"])
def verify_request(request_id):
    from chalicelib.api.schemas.rights import Verify

    return json_response(_service().verify_request(request_id, _parse(Verify).code))


@route(bp, "/me/requests", methods=["GET"])
def my_requests():
    return json_response({"requests": _service().user_requests(_user_id())})


@route(bp, "/me/requests", methods=["POST"])
def request_signed_in():
    from chalicelib.api.schemas.rights import SignedInRequest

    kind = _parse(SignedInRequest).kind
    return json_response(_service().open_request(_user_id(), kind), status=202)


# -- consent, restriction, objection (DSR-5, DSR-6) -------------------------------------------
@route(bp, "/me/consents", methods=["GET"])
def consents():
    return json_response(_service().consents(_user_id()))


@route(bp, "/me/consents", methods=["POST"])
def change_consent():
    from chalicelib.api.schemas.rights import ConsentChange

    body = _parse(ConsentChange)
    return json_response(_service().record_consent(_user_id(), body.purpose, body.granted))


# -- policy change notices (OPS-2) ------------------------------------------------------------
@route(bp, "/me/notices", methods=["GET"])
def notices():
    return json_response({"notices": _service().notices(_user_id())})


@route(bp, "/me/notices/{version}/ack", methods=["POST"])
def acknowledge_notice(version):
    from chalicelib.api.schemas.rights import NoticeAck

    body = _parse(NoticeAck)
    return json_response(_service().acknowledge_notice(_user_id(), version, body.decisions))


@route(bp, "/me/processing", methods=["PUT"])
def processing():
    from chalicelib.api.schemas.rights import Processing

    body = _parse(Processing)
    return json_response(_service().set_processing(_user_id(), restricted=body.restricted, objections=body.objections))


# -- contact messages (DSR-10) ---------------------------------------------------------------
@route(bp, "/contact", methods=["POST"])
def contact():
    from chalicelib.api.schemas.rights import Contact

    body = _parse(Contact)
    user_id = _user_id() if bp.current_request.headers.get("authorization") else None
    result = _service().submit_contact(
        user_id=user_id,
        email=str(body.email) if body.email else None,
        subject=body.subject,
        body=body.body,
        idempotency_key=bp.current_request.headers.get("idempotency-key"),
    )
    return json_response(result, status=201)
