"""HTTP routes for operators (OPS-6): request queue, request status, minor takedown, audit log,
payments held for review.

Operators present `X-Operator-Key`; every action, reads included, lands in the audit log.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import json_body, json_response, parse_body, route

bp = Blueprint(__name__)


def _operator() -> str:
    from chalicelib.domain.rights.operators import authenticate
    from chalicelib.store.secrets import secret

    return authenticate(secret("operator-api-keys"), bp.current_request.headers.get("x-operator-key"))


def _deps():
    from chalicelib import wiring

    return wiring.rights_deps()


def _models():
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    class StatusChange(BaseModel):
        model_config = ConfigDict(extra="forbid")
        status: Literal["in_progress", "completed", "rejected"]

    class MinorReport(BaseModel):
        model_config = ConfigDict(extra="forbid")
        note: str | None = Field(default=None, max_length=500)

    return locals()


@route(bp, "/operator/requests", methods=["GET"])
def request_queue():
    from chalicelib.domain.rights.operators import request_queue

    operator = _operator()
    return json_response({"requests": request_queue(_deps(), operator)})


@route(bp, "/operator/requests/{request_id}", methods=["POST"])
def set_request_status(request_id):
    from chalicelib.domain.rights.operators import set_request_status

    operator = _operator()
    body = parse_body(_models()["StatusChange"], json_body(bp))
    return json_response(set_request_status(_deps(), operator, request_id, body.status))


@route(bp, "/operator/users/{user_id}/minor", methods=["POST"])
def minor_takedown(user_id):
    from chalicelib.domain.rights.minors import erase_minor

    operator = _operator()
    body = parse_body(_models()["MinorReport"], json_body(bp))
    return json_response(erase_minor(_deps(), operator=operator, user_id=user_id, note=body.note), status=202)


@route(bp, "/operator/audit/{month}", methods=["GET"])
def audit_log(month):
    from chalicelib.domain.rights.operators import audit_log

    operator = _operator()
    return json_response({"actions": audit_log(_deps(), operator, month)})


@route(bp, "/operator/payments/review", methods=["GET"])
def payments_for_review():
    from chalicelib import wiring
    from chalicelib.domain.billing import payments_for_review

    operator = _operator()
    held = payments_for_review(operator, payments=wiring.payments(), audit=_deps().rights.audit)
    return json_response({"payments": held})
