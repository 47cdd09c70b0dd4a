"""TTL reactions, registered by record class: `on_expiry(Tombstone, start_after_grace, uses=...)`.

The table and the sort-key prefix come from the record class (`logical_table`, `SK_PREFIX`), so a
reaction cannot name a table its record does not live in. Each table with a reaction gets a stream
and a consumer function (chalicelib/events/streams.py), whose role grants the table's stream plus
what its reactions declare they use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.grants import NOTHING, Uses

if TYPE_CHECKING:
    from chalicelib.store.base import Record


@dataclass(frozen=True, slots=True)
class TtlReaction:
    table: str  # logical table
    sk_prefix: str
    react: Callable[[dict[str, Any]], Any]  # receives the expired item's old image
    uses: Uses

    def matches(self, table: str, sk: str) -> bool:
        return table == self.table and sk.startswith(self.sk_prefix)


def on_expiry(record_class: type[Record], react: Callable[[dict[str, Any]], Any], uses: Uses = NOTHING) -> TtlReaction:
    prefix = getattr(record_class, "SK_PREFIX", "")
    if not record_class.logical_table or not prefix:
        raise ValueError(f"{record_class.__name__} needs a logical_table and an SK_PREFIX to react to its expiry")
    return TtlReaction(table=record_class.logical_table, sk_prefix=prefix, react=react, uses=uses)


def stream_consumer_name(table: str) -> str:
    """The Lambda function consuming `table`'s stream."""
    return f"{table}_stream"
