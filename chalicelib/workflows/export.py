"""Step Functions task handlers for the export workflow (DSR-1): one small function per task.

Each receives the execution's state (the export id, earlier results: page numbers, counts, the
upload's state) and runs one idempotent step or page; the ASL (infra/asl/export.asl.json) retries
every task and marks the export failed at the end.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.grants import CATEGORY_TABLES, Uses, lambda_function
from chalicelib.metrics import Metric, emit

bp = Blueprint(__name__)

# The export record (status, progress) lives in the requests table; every step updates it.
PROGRESS = Uses(write_tables="requests")


def _rights():
    from chalicelib import wiring

    return wiring.rights_service()


@lambda_function(bp, "export_collect", uses=PROGRESS | Uses(read_tables=CATEGORY_TABLES, read_buckets="content"))
def export_collect(event, context):
    return _rights().export_collect(event)


@lambda_function(
    bp,
    "export_archive",
    uses=PROGRESS | Uses(read_tables=CATEGORY_TABLES, read_buckets=("content", "exports"), write_buckets="exports"),
)
def export_archive(event, context):
    return _rights().export_archive(event)


# The archive's central directory, a page per invocation, then the upload completed (P3).
@lambda_function(bp, "export_seal", uses=PROGRESS | Uses(read_buckets="exports", write_buckets="exports"))
def export_seal(event, context):
    return _rights().export_seal(event)


@lambda_function(
    bp, "export_notify", uses=PROGRESS | Uses(read_tables="accounts", read_buckets="exports", send_email=True)
)
def export_notify(event, context):
    result = _rights().export_notify(event)
    emit(Metric.EXPORTS_COMPLETED)
    return result


@lambda_function(bp, "export_fail", uses=PROGRESS)
def export_fail(event, context):
    return _rights().export_fail(event)
