"""DynamoDB stream consumers. A TTL delete (principal dynamodb.amazonaws.com) of a record triggers
the reaction registered for its kind: clean dependent objects, start an account's erasure once
its grace-period tombstone expires, or return a lapsed hold's credits. No scheduler anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint

bp = Blueprint(__name__)

TTL_PRINCIPAL = "dynamodb.amazonaws.com"

# (logical table, sort-key prefix) -> "module:function" taking the expired item's old image.
# Strings, so the consumers import only what a record needs.
TTL_REACTIONS: dict[tuple[str, str], str] = {}


def register_ttl_reaction(table: str, sk_prefix: str, target: str) -> None:
    TTL_REACTIONS[(table, sk_prefix)] = target


def _resolve(target: str) -> Callable[[dict[str, Any]], Any]:
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


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
    import chalicelib.events.reactions  # noqa: F401  (registers the reactions)

    handled = 0
    for image in expired_images(event):
        sk = str(image.get("sk", ""))
        for (reaction_table, prefix), target in TTL_REACTIONS.items():
            if reaction_table == table and sk.startswith(prefix):
                _resolve(target)(image)
                handled += 1
    return {"handled": handled}


@bp.lambda_function(name="accounts_stream")
def accounts_stream(event, context):
    return dispatch("accounts", event)


@bp.lambda_function(name="content_stream")
def content_stream(event, context):
    return dispatch("content", event)


@bp.lambda_function(name="ledger_stream")
def ledger_stream(event, context):
    return dispatch("ledger", event)
