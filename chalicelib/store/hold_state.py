"""Whether a person is under a legal hold, as a write needs to know it (DSR-12).

Data written while a hold is in force must not get a running clock: a record's expiry is stamped
aside (`store/base.py`) and an object is tagged `held` instead of `running` (`store/objects.py`,
`store/personal_data.py`). Asking costs one strongly consistent GetItem of the person's in-force
item, once per invocation and person: a signed-in request reads that item in the same
TransactGetItems as its session and user (`store/accounts.py`), so the hot routes ask nothing more
(tests/functional/test_round_trips.py). Answers are kept for the current invocation only
(`per_invocation`, a middleware on every handler); outside one nothing is kept.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

IN_FORCE = "IN_FORCE"


def in_force_key(user_id: str) -> tuple[str, str]:
    """(pk, sk) of the item listing the holds in force on the person (models/rights.py HoldMarker)."""
    return f"HELD#{user_id}", IN_FORCE


_known: ContextVar[dict[str, bool] | None] = ContextVar("pixelkeep_held_owners", default=None)


def note(user_id: str, held: bool) -> None:
    """What a read of the person's in-force item found, for the rest of this invocation."""
    known = _known.get()
    if known is not None:
        known[user_id] = held


def held(user_id: str) -> bool:
    known = _known.get()
    if known is not None and user_id in known:
        return known[user_id]
    from chalicelib.settings import get_settings
    from chalicelib.store import aws

    pk, sk = in_force_key(user_id)
    item = aws.client("dynamodb").get_item(
        TableName=get_settings().table_name("requests"),
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        ProjectionExpression="hold_ids",
        ConsistentRead=True,
    )
    found = bool(item.get("Item", {}).get("hold_ids"))
    note(user_id, found)
    return found


def per_invocation(event: Any, get_response: Any) -> Any:
    """Chalice middleware: what was learnt about holds lasts one invocation, never into the next."""
    token = _known.set({})
    try:
        return get_response(event)
    finally:
        _known.reset(token)
