"""Operators (OPS-6): IAM principals, and every action written to the audit log with the principal."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain.rights import deadlines, rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import InvalidInput, NotFound, Unauthenticated

OPERATOR_STATUSES = ("in_progress", "completed")  # a refusal goes through `refuse` (DSR-11)


# An IAM user, role session or account root, as API Gateway's IAM authorization reports the caller.
_PRINCIPAL = re.compile(r"arn:aws[a-z\-]*:(iam|sts)::\d{12}:(user|assumed-role|role|root|federated-user)[\w+=,.@/\-]*")


def principal(identity: dict[str, Any]) -> str:
    """The caller's IAM ARN from the request's identity; refused when there is none (a route reached
    without IAM authorization must not act for an operator)."""
    arn = identity.get("userArn")
    if not isinstance(arn, str) or not _PRINCIPAL.fullmatch(arn):
        raise Unauthenticated("Operator routes take AWS IAM credentials (a SigV4-signed request).")
    return arn


def request_queue(ctx: RightsContext, operator: str) -> list[dict[str, Any]]:
    ctx.rights.audit(operator, "view_request_queue", clock.now(), None, {})
    return rights_requests.open_queue(ctx)


def set_request_status(ctx: RightsContext, operator: str, request_id: str, status: str) -> dict[str, Any]:
    if status not in OPERATOR_STATUSES:
        raise InvalidInput(f"Status must be one of: {', '.join(OPERATOR_STATUSES)}.")
    request = ctx.rights.get_request(request_id)
    if request is None or request.status == "unverified":
        raise NotFound("No such request.")
    ctx.rights.audit(operator, f"request_{status}", clock.now(), request.owner_id, {"request_id": request_id})
    rights_requests.set_status(ctx, request_id, status, actor=f"operator:{operator}")
    return rights_requests.describe(ctx.rights.get_request(request_id))


def extend_request(
    ctx: RightsContext, operator: str, request_id: str, *, until: datetime, reason: str
) -> dict[str, Any]:
    """DSR-11, Art. 12(3): audited inside `deadlines.extend` with the operator's principal."""
    return rights_requests.describe(deadlines.extend(ctx, operator, request_id, until=until, reason=reason))


def refuse_request(ctx: RightsContext, operator: str, request_id: str, *, reason: str) -> dict[str, Any]:
    """DSR-11, Art. 12(4): audited inside `deadlines.refuse` with the operator's principal."""
    return rights_requests.describe(deadlines.refuse(ctx, operator, request_id, reason=reason))


def audit_log(ctx: RightsContext, operator: str, month: str) -> list[dict[str, Any]]:
    ctx.rights.audit(operator, "view_audit_log", clock.now(), None, {"month": month})
    return [
        {
            "operator": a.operator,
            "action": a.action,
            "target": a.target,
            "details": a.details,
            "at": a.created_at.isoformat(),
        }
        for a in ctx.rights.audit_log(month)
    ]
