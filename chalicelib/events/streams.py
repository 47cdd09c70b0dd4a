"""DynamoDB stream consumers. A TTL delete (principal dynamodb.amazonaws.com) of a record triggers
the reactions registered for its record class (chalicelib/events/reactions.py): clean dependent
objects, fail a timed-out job, return a lapsed hold's credits (PAY-4), or start an account's
erasure once its grace-period tombstone expires (DSR-9, CNT-2, CNT-3). No scheduler anywhere.

Each table with a reaction has one consumer function, `<table>_stream`, declared here in one line;
the resource description gives that table a stream and the function a role from its reactions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint

from chalicelib.events.expiry import stream_consumer_name
from chalicelib.grants import WRITES_PERSONAL_DATA, Uses

bp = Blueprint(__name__)

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def expired_images(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Old images of the records DynamoDB removed because their TTL passed (not user deletes)."""
    from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    images = []
    for record in DynamoDBStreamEvent(event).records:
        identity = record.get("userIdentity") or {}
        if record.event_name is DynamoDBRecordEventName.REMOVE and identity.get("principalId") == TTL_PRINCIPAL:
            images.append(record.dynamodb.old_image or {})
    return images


def dispatch(table: str, event: dict[str, Any]) -> dict[str, int]:
    from chalicelib.events import reactions

    handled = 0
    for image in expired_images(event):
        sk = str(image.get("sk", ""))
        for reaction in reactions.TTL_REACTIONS:
            if reaction.matches(table, sk):
                reaction.react(image)
                handled += 1
    return {"handled": handled}


def consumer_uses(table: str) -> Uses:
    """What `table`'s consumer touches besides the stream itself: what its reactions declare."""
    from chalicelib.events import reactions

    uses = Uses()
    for reaction in reactions.TTL_REACTIONS:
        if reaction.table == table:
            uses |= reaction.uses
    # a reaction that writes a person's records asks whether they are held (DSR-12)
    return uses | WRITES_PERSONAL_DATA if uses.write_tables - {"requests"} else uses


def _ttl_consumer(table: str) -> Callable[[dict, Any], dict[str, int]]:
    name = stream_consumer_name(table)

    def consume(event, context):
        return dispatch(table, event)

    # Chalice finds a function by module and name: the module attribute must carry this name.
    consume.__name__ = name
    return bp.lambda_function(name=name)(consume)


accounts_stream = _ttl_consumer("accounts")
content_stream = _ttl_consumer("content")
ledger_stream = _ttl_consumer("ledger")
requests_stream = _ttl_consumer("requests")
