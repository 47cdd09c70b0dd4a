"""Step Functions task handlers for the export workflow (DSR-1): one small function per task.

Each receives the execution's state (user_id, export_id, earlier results) and runs one idempotent
step; the ASL (infra/asl/export.asl.json) retries every task and marks the export failed at the end.
"""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


def _rights():
    from chalicelib import wiring

    return wiring.rights_service()


@bp.lambda_function(name="export_collect")
def export_collect(event, context):
    return _rights().export_collect(event)


@bp.lambda_function(name="export_archive")
def export_archive(event, context):
    return _rights().export_archive(event)


@bp.lambda_function(name="export_notify")
def export_notify(event, context):
    return _rights().export_notify(event)


@bp.lambda_function(name="export_fail")
def export_fail(event, context):
    return _rights().export_fail(event)
