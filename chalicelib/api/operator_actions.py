"""Operator actions as Lambda functions (OPS-6), for the Lambda console's Test tab and `aws lambda
invoke`: the same service calls as the operator routes, one function per action, each with the
console test event the README lists.

IAM decides who may invoke each function (the operators' group). Lambda hands a function nothing
about its caller, so the audit entry names the invocation (`lambda:<function>/<request id>`); the
CloudTrail data event of that Invoke, with the same request id, names the IAM principal. Bad input
answers in the API's one error shape instead of failing the invocation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint

from chalicelib import errors
from chalicelib.grants import CATEGORY_TABLES, Uses, lambda_function

bp = Blueprint(__name__)

# The audit trail and the requests live in the requests table.
AUDITED = Uses(write_tables="requests")


def invocation(context: Any) -> str:
    """The audit's name for a direct invocation: the function and Lambda's request id."""
    return f"lambda:{getattr(context, 'function_name', 'unknown')}/{getattr(context, 'aws_request_id', 'unknown')}"


def _service():
    from chalicelib import wiring

    return wiring.rights_service()


def _answer(action: Callable[[], Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    try:
        return {"result": action()}
    except ValidationError as exc:
        problems = [
            {"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors(include_input=False)
        ]
        return {"error": {"code": "invalid_input", "message": "The event is invalid.", "details": problems}}
    except errors.DomainError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}


def _event(model: type, event: Any) -> Any:
    return model.model_validate(event if isinstance(event, dict) else {})


@lambda_function(bp, "operator_request_queue", uses=AUDITED)
def operator_request_queue(event, context):
    """Test event: `{}`."""
    return _answer(lambda: _service().request_queue(invocation(context)))


@lambda_function(bp, "operator_set_request_status", uses=AUDITED)
def operator_set_request_status(event, context):
    """Test event: `{"request_id": "…", "status": "in_progress" | "completed"}`."""
    from chalicelib.api.schemas.rights import OperatorStatusChange

    def act():
        body = _event(OperatorStatusChange, event)
        return _service().set_request_status(invocation(context), body.request_id, body.status)

    return _answer(act)


# DSR-11: both tell the requester, at the account's address where the request came signed in.
TELLS_REQUESTER = AUDITED | Uses(read_tables="accounts", send_email=True)


@lambda_function(bp, "operator_extend_request", uses=TELLS_REQUESTER)
def operator_extend_request(event, context):
    """Test event: `{"request_id": "…", "until": "2027-02-01T00:00:00Z", "reason": "…"}` (Art. 12(3))."""
    from chalicelib.api.schemas.rights import OperatorExtension

    def act():
        body = _event(OperatorExtension, event)
        return _service().extend_request(invocation(context), body.request_id, until=body.until, reason=body.reason)

    return _answer(act)


@lambda_function(bp, "operator_refuse_request", uses=TELLS_REQUESTER)
def operator_refuse_request(event, context):
    """Test event: `{"request_id": "…", "reason": "…"}` (Art. 12(4))."""
    from chalicelib.api.schemas.rights import OperatorRefusal

    def act():
        body = _event(OperatorRefusal, event)
        return _service().refuse_request(invocation(context), body.request_id, reason=body.reason)

    return _answer(act)


@lambda_function(
    bp,
    "operator_minor_takedown",
    uses=Uses(write_tables=("requests", "accounts"), start_workflows="erasure", send_email=True),
)
def operator_minor_takedown(event, context):
    """Test event: `{"user_id": "…", "note": "reported by a parent"}`."""
    from chalicelib.api.schemas.rights import OperatorMinorReport

    def act():
        body = _event(OperatorMinorReport, event)
        return _service().erase_minor(invocation(context), body.user_id, body.note)

    return _answer(act)


@lambda_function(bp, "operator_audit_log", uses=AUDITED)
def operator_audit_log(event, context):
    """Test event: `{"month": "2026-12"}`."""
    from chalicelib.api.schemas.rights import AuditMonth

    return _answer(lambda: _service().audit_log(invocation(context), _event(AuditMonth, event).month))


# -- policy change notices (OPS-2) ----------------------------------------------------------------
@lambda_function(bp, "operator_announce_policy_version", uses=AUDITED | Uses(start_workflows="notices"))
def operator_announce_policy_version(event, context):
    """Test event: `{"version": "2027-01-15"}` (or `{}`: the version in force)."""
    from chalicelib.api.schemas.rights import AnnounceVersionAction

    def act():
        body = _event(AnnounceVersionAction, event)
        return _service().announce_policy_version(invocation(context), body.version)

    return _answer(act)


# -- incidents (OPS-5) ------------------------------------------------------------------------------
def _incidents():
    from chalicelib import wiring

    return wiring.incident_service()


# Computing who an incident affected reads every table and bucket holding personal data.
FINDS_AFFECTED = AUDITED | Uses(read_tables=CATEGORY_TABLES, read_buckets=("content", "exports"))


@lambda_function(bp, "operator_open_incident", uses=FINDS_AFFECTED)
def operator_open_incident(event, context):
    """Test event: `{"window_start": "2026-12-01T00:00:00Z", "window_end": "2026-12-02T00:00:00Z",
    "detected_at": "2026-12-02T09:00:00Z", "categories": ["account"], "systems": ["accounts"],
    "description": "…"}`."""
    from chalicelib import clock
    from chalicelib.api.schemas.incidents import OpenIncidentAction

    def act():
        body = _event(OpenIncidentAction, event)
        return _incidents().open(
            invocation(context),
            detected_at=body.detected_at or clock.now(),
            window_start=body.window_start,
            window_end=body.window_end,
            categories=body.categories,
            systems=body.systems,
            description=body.description,
        )

    return _answer(act)


@lambda_function(bp, "operator_breach_register", uses=AUDITED)
def operator_breach_register(event, context):
    """Test event: `{}`; with `{"incident_id": "…"}`, that incident and drafts of both notices."""
    from chalicelib.api.schemas.incidents import IncidentRef

    if isinstance(event, dict) and event.get("incident_id") is not None:
        return _answer(lambda: _incidents().get(invocation(context), _event(IncidentRef, event).incident_id))
    return _answer(lambda: _incidents().register(invocation(context)))


@lambda_function(bp, "operator_authority_notified", uses=AUDITED)
def operator_authority_notified(event, context):
    """Test event: `{"incident_id": "…", "reference": "the authority's case number"}`."""
    from chalicelib.api.schemas.incidents import AuthorityNotifiedAction

    def act():
        body = _event(AuthorityNotifiedAction, event)
        return _incidents().authority_notified(invocation(context), body.incident_id, body.reference)

    return _answer(act)


@lambda_function(bp, "operator_notify_affected_users", uses=AUDITED | Uses(read_tables="accounts", send_email=True))
def operator_notify_affected_users(event, context):
    """Test event: `{"incident_id": "…", "consequences": "…", "measures": "…"}`."""
    from chalicelib.api.schemas.incidents import NotifyUsersAction

    def act():
        body = _event(NotifyUsersAction, event)
        return _incidents().notify_users(
            invocation(context), body.incident_id, consequences=body.consequences, measures=body.measures
        )

    return _answer(act)


# Reads every table's and bucket's settings and a page of each table's items; writes only its audit entry.
INSPECTS = AUDITED | Uses(read_tables=CATEGORY_TABLES, inspect_deployment=True)


@lambda_function(bp, "operator_drift_report", uses=INSPECTS)
def operator_drift_report(event, context):
    """Test event: `{}`."""
    from chalicelib import wiring

    return _answer(lambda: wiring.drift_check().report(invocation(context)))
