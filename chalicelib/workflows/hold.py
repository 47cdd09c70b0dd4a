"""Step Functions task handlers for the legal hold workflow (DSR-12): one small function per task.

The execution's input is the opaque hold id and the action (`hold` or `release`); tasks return page
numbers and counts only. Each page reads at most PIXELKEEP_PAGE_ITEMS items or keys (P3); the ASL
(infra/asl/hold.asl.json) invokes a step again while `more`, retries every task and catches into
`hold_fail`.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.grants import CATEGORY_TABLES, Uses, lambda_function

bp = Blueprint(__name__)

# The hold, its markers and cursors live in the requests table; the audit entry of the walk too.
HOLD = Uses(write_tables="requests")


def _rights():
    from chalicelib import wiring

    return wiring.rights_service()


@lambda_function(bp, "hold_move_expiries", uses=HOLD | Uses(write_tables=CATEGORY_TABLES))
def hold_move_expiries(event, context):
    return _rights().hold_move_expiries(event)


@lambda_function(bp, "hold_retag_objects", uses=HOLD | Uses(write_buckets=("content", "exports")))
def hold_retag_objects(event, context):
    return _rights().hold_retag_objects(event)


# After the last release, the erasures the hold paused start again (DSR-12).
@lambda_function(bp, "hold_finish", uses=HOLD | Uses(start_workflows="erasure"))
def hold_finish(event, context):
    return _rights().hold_finish(event)


@lambda_function(bp, "hold_fail", uses=HOLD)
def hold_fail(event, context):
    return _rights().hold_fail(event)
