"""The opaque page cursor of every paged query: DynamoDB's last evaluated key, bound to one
partition and one kind of record, so a cursor cannot page through anyone else's data."""

from __future__ import annotations

import base64
import json

from chalicelib import errors


def encode_cursor(key: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str, *, pk: str, sk_prefix: str) -> dict:
    """The key to resume from; InvalidInput for anything but a cursor of this partition and kind."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        valid = key["pk"]["S"] == pk and key["sk"]["S"].startswith(sk_prefix)
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise errors.InvalidInput("The cursor is invalid.")
    return key


def decode_owner_cursor(cursor: str, *, owner_id: str, sk_prefix: str) -> dict:
    """The same for a query of the owner index: the cursor must name this owner."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        valid = (
            key["owner_id"]["S"] == owner_id
            and key["sk"]["S"].startswith(sk_prefix)
            and isinstance(key["pk"]["S"], str)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise errors.InvalidInput("The cursor is invalid.")
    return key
