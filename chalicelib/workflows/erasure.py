"""Step Functions task handlers for the erasure workflow: one small function per task.

Each receives the execution's state (user_id, erasure_id, earlier results) and runs one idempotent
step; the ASL (infra/asl/erasure.asl.json) retries every task and catches into `erasure_fail`.
"""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


def _step(name: str, event: dict) -> dict:
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure

    return getattr(erasure, name)(wiring.rights_deps(), event)


@bp.lambda_function(name="erasure_plan")
def erasure_plan(event, context):
    return _step("plan", event)


@bp.lambda_function(name="erasure_delete_objects")
def erasure_delete_objects(event, context):
    return _step("delete_objects", event)


@bp.lambda_function(name="erasure_delete_records")
def erasure_delete_records(event, context):
    return _step("delete_records", event)


@bp.lambda_function(name="erasure_pseudonymize")
def erasure_pseudonymize(event, context):
    return _step("pseudonymize", event)


@bp.lambda_function(name="erasure_residual_scan")
def erasure_residual_scan(event, context):
    return _step("residual_scan", event)


@bp.lambda_function(name="erasure_receipt")
def erasure_receipt(event, context):
    return _step("receipt", event)


@bp.lambda_function(name="erasure_notify")
def erasure_notify(event, context):
    return _step("notify", event)


@bp.lambda_function(name="erasure_fail")
def erasure_fail(event, context):
    return _step("fail", event)


def start_after_grace(image: dict) -> str:
    """TTL reaction (events/reactions.py): the grace-period tombstone expired, so erasure begins."""
    from chalicelib import wiring
    from chalicelib.domain.rights import erasure

    return erasure.start_after_grace(wiring.rights_deps(), image)
