"""HTTP routes for operators (OPS-6): request queue, request status, extension and refusal (DSR-11),
minor takedown, audit log, payments held for review, policy change notices (OPS-2), incidents and
the breach register (OPS-5), the record of processing and the drift check (OPS-8).

Operators are IAM principals: every route here takes API Gateway's IAM authorization (SigV4, as the
AWS CLI and SDKs sign), and the caller's ARN API Gateway passes on is recorded with every action,
reads included, in the audit log. There is no shared operator secret.
"""

from __future__ import annotations

from functools import partial

from chalice import Blueprint, IAMAuthorizer

from chalicelib.api.http import json_body, json_response, parse_body
from chalicelib.api.http import route as any_route

bp = Blueprint(__name__)
route = partial(any_route, authorizer=IAMAuthorizer())  # every operator route: SigV4 only


def _service():
    from chalicelib import wiring

    return wiring.rights_service()


def _operator() -> str:
    """The caller's IAM principal, as API Gateway's IAM authorization passes it on."""
    from chalicelib.domain.rights.operators import principal

    return principal((bp.current_request.context or {}).get("identity") or {})


@route(bp, "/operator/requests", methods=["GET"])
def request_queue():
    operator = _operator()
    return json_response({"requests": _service().request_queue(operator)})


@route(bp, "/operator/requests/{request_id}", methods=["POST"])
def set_request_status(request_id):
    from chalicelib.api.schemas.rights import StatusChange

    operator = _operator()
    body = parse_body(StatusChange, json_body(bp))
    return json_response(_service().set_request_status(operator, request_id, body.status))


@route(bp, "/operator/requests/{request_id}/extend", methods=["POST"])
def extend_request(request_id):
    """DSR-11, Art. 12(3): a later due date, with the reason the requester is e-mailed."""
    from chalicelib.api.schemas.rights import Extension

    operator = _operator()
    body = parse_body(Extension, json_body(bp))
    return json_response(_service().extend_request(operator, request_id, until=body.until, reason=body.reason))


@route(bp, "/operator/requests/{request_id}/refuse", methods=["POST"])
def refuse_request(request_id):
    """DSR-11, Art. 12(4): no action, with the reason and the right to complain e-mailed."""
    from chalicelib.api.schemas.rights import Refusal

    operator = _operator()
    body = parse_body(Refusal, json_body(bp))
    return json_response(_service().refuse_request(operator, request_id, reason=body.reason))


@route(bp, "/operator/users/{user_id}/minor", methods=["POST"])
def minor_takedown(user_id):
    from chalicelib.api.schemas.rights import MinorReport

    operator = _operator()
    body = parse_body(MinorReport, json_body(bp))
    return json_response(_service().erase_minor(operator, user_id, body.note), status=202)


@route(bp, "/operator/audit/{month}", methods=["GET"])
def audit_log(month):
    operator = _operator()
    return json_response({"actions": _service().audit_log(operator, month)})


@route(bp, "/operator/payments/review", methods=["GET"])
def payments_for_review():
    from chalicelib import wiring
    from chalicelib.domain.billing import payments_for_review

    operator = _operator()
    held = payments_for_review(operator, payments=wiring.payments(), audit=_service().context.rights.audit)
    return json_response({"payments": held})


# -- policy change notices (OPS-2) ----------------------------------------------------------------
@route(bp, "/operator/policy-versions/{version}/announce", methods=["POST"])
def announce_policy_version(version):
    """E-mails the notice of a significant version to everyone owed it: a paged workflow (OPS-2)."""
    from chalicelib.api.schemas.rights import AnnounceVersion

    operator = _operator()
    parse_body(AnnounceVersion, json_body(bp) or {})
    return json_response(_service().announce_policy_version(operator, version), status=202)


# -- incidents (OPS-5) ------------------------------------------------------------------------------
def _incidents():
    from chalicelib import wiring

    return wiring.incident_service()


@route(bp, "/operator/incidents", methods=["POST"])
def open_incident():
    from chalicelib import clock
    from chalicelib.api.schemas.incidents import OpenIncident

    operator = _operator()
    body = parse_body(OpenIncident, json_body(bp))
    opened = _incidents().open(
        operator,
        detected_at=body.detected_at or clock.now(),
        window_start=body.window_start,
        window_end=body.window_end,
        categories=body.categories,
        systems=body.systems,
        description=body.description,
    )
    return json_response(opened, status=201)


@route(bp, "/operator/incidents", methods=["GET"])
def breach_register():
    operator = _operator()
    return json_response({"incidents": _incidents().register(operator)})


@route(bp, "/operator/incidents/{incident_id}", methods=["GET"])
def incident(incident_id):
    operator = _operator()
    return json_response(_incidents().get(operator, incident_id))


@route(bp, "/operator/incidents/{incident_id}/authority-notified", methods=["POST"])
def authority_notified(incident_id):
    from chalicelib.api.schemas.incidents import AuthorityNotified

    operator = _operator()
    body = parse_body(AuthorityNotified, json_body(bp))
    return json_response(_incidents().authority_notified(operator, incident_id, body.reference))


@route(bp, "/operator/incidents/{incident_id}/notify-users", methods=["POST"])
def notify_users(incident_id):
    from chalicelib.api.schemas.incidents import NotifyUsers

    operator = _operator()
    body = parse_body(NotifyUsers, json_body(bp))
    notified = _incidents().notify_users(operator, incident_id, consequences=body.consequences, measures=body.measures)
    return json_response(notified)


# -- record of processing (OPS-8) -------------------------------------------------------------------
@route(bp, "/operator/ropa", methods=["GET"])
def record_of_processing():
    """The Art. 30 record from the active profile: JSON, or HTML for `?format=html`."""
    from chalice import Response

    from chalicelib import clock, wiring
    from chalicelib.profile.ropa import record_of_processing, record_of_processing_html

    operator = _operator()
    _service().context.rights.audit(operator, "view_record_of_processing", clock.now(), None, {})
    record = record_of_processing(wiring.profile())
    if (bp.current_request.query_params or {}).get("format") == "html":
        return Response(
            body=record_of_processing_html(record),
            status_code=200,
            headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        )
    return json_response(record)


@route(bp, "/operator/drift", methods=["GET"])
def drift_report():
    """Every difference between what the profile requires of the deployment and what is deployed."""
    from chalicelib import wiring

    return json_response(wiring.drift_check().report(_operator()))
