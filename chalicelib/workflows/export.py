"""Step Functions task handlers for the export workflow: one small function per task.

Each receives the execution's state (user_id, export_id, earlier results) and runs one idempotent
step; the ASL (infra/asl/export.asl.json) retries every task and marks the export failed at the end.
"""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


def _step(name: str, event: dict) -> dict:
    from chalicelib import wiring
    from chalicelib.domain.rights import export

    return getattr(export, name)(wiring.rights_deps(), event)


@bp.lambda_function(name="export_collect")
def export_collect(event, context):
    return _step("collect", event)


@bp.lambda_function(name="export_archive")
def export_archive(event, context):
    return _step("archive", event)


@bp.lambda_function(name="export_notify")
def export_notify(event, context):
    return _step("notify", event)


@bp.lambda_function(name="export_fail")
def export_fail(event, context):
    return _step("fail", event)
