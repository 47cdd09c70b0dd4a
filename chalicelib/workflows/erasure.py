"""Step Functions task handlers for the erasure workflow (DSR-4): one small function per task.

Each receives the execution's state (user_id, erasure_id, earlier results) and runs one idempotent
step; the ASL (infra/asl/erasure.asl.json) retries every task and catches into `erasure_fail`.
"""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


def _rights():
    from chalicelib import wiring

    return wiring.rights_service()


@bp.lambda_function(name="erasure_plan")
def erasure_plan(event, context):
    return _rights().erasure_plan(event)


@bp.lambda_function(name="erasure_delete_objects")
def erasure_delete_objects(event, context):
    return _rights().erasure_delete_objects(event)


@bp.lambda_function(name="erasure_delete_records")
def erasure_delete_records(event, context):
    return _rights().erasure_delete_records(event)


@bp.lambda_function(name="erasure_pseudonymize")
def erasure_pseudonymize(event, context):
    return _rights().erasure_pseudonymize(event)


@bp.lambda_function(name="erasure_residual_scan")
def erasure_residual_scan(event, context):
    return _rights().erasure_residual_scan(event)


@bp.lambda_function(name="erasure_receipt")
def erasure_receipt(event, context):
    return _rights().erasure_receipt(event)


@bp.lambda_function(name="erasure_notify")
def erasure_notify(event, context):
    return _rights().erasure_notify(event)


@bp.lambda_function(name="erasure_fail")
def erasure_fail(event, context):
    return _rights().erasure_fail(event)


def start_after_grace(image: dict) -> str:
    """TTL reaction (events/reactions.py): the grace-period tombstone expired, so erasure begins (DSR-9)."""
    return _rights().start_after_grace(image)
