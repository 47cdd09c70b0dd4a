"""S3 -> SQS -> Lambda: uploaded objects are checked by content (SEC-7) and recorded (CNT-1)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)


def uploaded_keys(event: dict) -> list[str]:
    """Object keys from the S3 notifications carried by an SQS batch (S3's test event has none)."""
    import json
    from urllib.parse import unquote_plus

    from aws_lambda_powertools.utilities.data_classes import SQSEvent

    keys = []
    for message in SQSEvent(event).records:
        notification = json.loads(message.body or "{}")
        for record in notification.get("Records", []):
            if str(record.get("eventName", "")).startswith("ObjectCreated"):
                keys.append(unquote_plus(record["s3"]["object"]["key"]))
    return keys


@bp.lambda_function(name="upload_processor")
def upload_processor(event, context):
    from chalicelib import wiring
    from chalicelib.domain.uploads import process_uploaded_object
    from chalicelib.observability import logger

    outcomes = [
        process_uploaded_object(key=key, content=wiring.content(), objects=wiring.objects())
        for key in uploaded_keys(event)
    ]
    logger.info("uploads processed", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
