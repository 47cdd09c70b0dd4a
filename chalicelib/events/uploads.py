"""S3 -> SQS -> Lambda: uploaded objects are checked by content and re-encoded (SEC-7, CNT-7) and
recorded (CNT-1).

The event source reports partial batch failures: each message is processed on its own through
Powertools' BatchProcessor, and only the messages that failed come back in `batchItemFailures`.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.grants import WRITES_PERSONAL_DATA, Uses, lambda_function

bp = Blueprint(__name__)


def uploaded_keys(body: str | None) -> list[str]:
    """Object keys created by the S3 notification in one message (S3's test event has none)."""
    import json
    from urllib.parse import unquote_plus

    notification = json.loads(body or "{}")
    return [
        unquote_plus(record["s3"]["object"]["key"])
        for record in notification.get("Records", [])
        if str(record.get("eventName", "")).startswith("ObjectCreated")
    ]


def _process_message(record) -> list[str]:
    """One SQS message; raising marks it (and only it) failed, so SQS delivers it again."""
    from chalicelib import wiring

    service = wiring.content_service()
    return [service.process_uploaded_object(key) for key in uploaded_keys(record.body)]


@lambda_function(
    bp,
    "upload_processor",
    uses=Uses(consume_queues="uploads", write_tables="content", write_buckets="content") | WRITES_PERSONAL_DATA,
)
def upload_processor(event, context):
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    return process_partial_response(
        event=event,
        record_handler=_process_message,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
