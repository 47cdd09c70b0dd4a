"""Operators (OPS-6): a named key per operator, and every action written to the audit log."""

from __future__ import annotations

import hmac
import json
from typing import Any

from chalicelib import clock
from chalicelib.domain.rights import rights_requests
from chalicelib.domain.rights.context import RightsContext
from chalicelib.errors import InvalidInput, NotFound, Unauthenticated

OPERATOR_STATUSES = ("in_progress", "completed", "rejected")


def authenticate(keys_json: str, presented: str | None) -> str:
    """The operator's name for a presented key; the keys are a JSON object {name: key} kept as a secret."""
    if presented:
        for name, key in json.loads(keys_json).items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                return name
    raise Unauthenticated("Operator credentials are missing or wrong.")


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
