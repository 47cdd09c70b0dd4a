"""Step Functions task handlers for the erasure workflow (DSR-4): one small function per task.

Each receives the execution's state (the opaque erasure id and earlier results: counts, never a user
id, address or key, DSR-13), reads the person from the run record and runs one idempotent step; the
ASL (infra/asl/erasure.asl.json) retries every task and catches into `erasure_fail`.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.grants import CATEGORY_TABLES, Uses, lambda_function
from chalicelib.metrics import Metric, emit

bp = Blueprint(__name__)

# The run record and the request it serves live in the requests table; every step reads or updates them.
RUN = Uses(write_tables="requests")
# Finding the person by the keys derived from their ids needs the identifier-hash secret (DSR-13).
SUBJECT = RUN | Uses(read_tables=CATEGORY_TABLES, secrets="ip-hash-key")


def _rights():
    from chalicelib import wiring

    return wiring.rights_service()


@lambda_function(bp, "erasure_plan", uses=RUN | Uses(read_tables=CATEGORY_TABLES))
def erasure_plan(event, context):
    return _rights().erasure_plan(event)


# GEN-5, PAY-6: reads the person's records for the processors' references, calls the payment and
# model providers (their keys from Secrets Manager) before any record is deleted.
PROCESSOR_SECRETS = (
    "stripe-api-key",
    "stripe-webhook-secret",
    "fal-admin-api-key",
    "polar-access-token",  # the other rails cancel and delete their customers too (PAY-6)
    "lemonsqueezy-api-key",
)


@lambda_function(bp, "erasure_processors", uses=RUN | Uses(read_tables=CATEGORY_TABLES, secrets=PROCESSOR_SECRETS))
def erasure_processors(event, context):
    return _rights().erasure_processors(event)


@lambda_function(
    bp, "erasure_delete_objects", uses=RUN | Uses(read_tables="content", write_buckets=("content", "exports"))
)
def erasure_delete_objects(event, context):
    return _rights().erasure_delete_objects(event)


@lambda_function(bp, "erasure_delete_records", uses=SUBJECT | Uses(write_tables=CATEGORY_TABLES))
def erasure_delete_records(event, context):
    return _rights().erasure_delete_records(event)


@lambda_function(bp, "erasure_pseudonymize", uses=Uses(write_tables=CATEGORY_TABLES))
def erasure_pseudonymize(event, context):
    return _rights().erasure_pseudonymize(event)


@lambda_function(bp, "erasure_residual_scan", uses=SUBJECT | Uses(read_buckets=("content", "exports")))
def erasure_residual_scan(event, context):
    return _rights().erasure_residual_scan(event)


@lambda_function(bp, "erasure_receipt", uses=RUN | Uses(secrets="ip-hash-key"))
def erasure_receipt(event, context):
    return _rights().erasure_receipt(event)


@lambda_function(bp, "erasure_notify", uses=RUN | Uses(send_email=True))
def erasure_notify(event, context):
    result = _rights().erasure_notify(event)
    emit(Metric.ERASURES_COMPLETED)
    return result


# DSR-12: a step found a legal hold in force; the run and the request say it is paused.
@lambda_function(bp, "erasure_held", uses=RUN)
def erasure_held(event, context):
    return _rights().erasure_held(event)


@lambda_function(bp, "erasure_fail", uses=RUN)
def erasure_fail(event, context):
    return _rights().erasure_fail(event)


def start_after_grace(image: dict) -> str:
    """TTL reaction (events/reactions.py): the grace-period tombstone expired, so erasure begins (DSR-9)."""
    return _rights().start_after_grace(image)
