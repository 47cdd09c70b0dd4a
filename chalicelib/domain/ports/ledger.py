"""What credits and the ledger need from the world (PAY-2, PAY-3, PAY-4): a balance per account,
append-only entries, holds, and business keys applied exactly once.

A submit takes a credit hold through these alone; the payment ports are in `billing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

# A hold outlives the deadline of the work it pays for by this much; past it the hold has lapsed:
# its credits return, by the caller or by the TTL delete of the hold (PAY-4).
HOLD_MARGIN = timedelta(hours=1)
# The deadline of a hold taken without one.
DEFAULT_HOLD_DEADLINE = timedelta(minutes=15)


def hold_lapses_at(now: datetime, deadline: datetime | None) -> datetime:
    """When a hold taken `now` for work due at `deadline` lapses."""
    return (deadline or now + DEFAULT_HOLD_DEADLINE) + HOLD_MARGIN


class HoldState(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Hold:
    """Credits reserved for work not yet done, as the ledger holds them."""

    hold_id: str
    user_id: str
    amount: int
    state: HoldState
    reason: str


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement; replayed by `sequence`, the entries reach the balance (PAY-2)."""

    sequence: int
    balance_after: int
    at: datetime
    kind: str  # grant | hold | commit | release | clawback
    amount: int  # signed
    reason: str
    reference: str  # the business key or hold id applied
    details: tuple[tuple[str, Any], ...] = ()
    shortfall: int = 0  # clawback only: credits already spent, not taken back


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: tuple[LedgerEntry, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class CreditMovement:
    """Credits moved once per business `key` (claimed in the same transaction as the movement)."""

    key: str
    reason: str
    credits: int
    details: tuple[tuple[str, Any], ...] = ()
    returning: bool = False  # a settlement step that gives credits back rather than takes them


class Ledger(Protocol):
    """Balances, entries and holds. Every mutation claims its business key (or hold id) in the
    same transaction as its effect, so a retried call changes nothing (PAY-2, PAY-4)."""

    def balance(self, user_id: str) -> int: ...

    def unrecovered(self, user_id: str) -> int: ...

    def entries(self, user_id: str, limit: int = 50, cursor: str | None = None) -> EntryPage: ...

    def grant(self, user_id: str, amount: int, key: str, reason: str, details: Mapping | None = None) -> bool: ...

    def claw_back(
        self, user_id: str, amount: int, key: str, reason: str, details: Mapping | None = None
    ) -> tuple[int, int] | None: ...

    def hold(
        self, user_id: str, amount: int, hold_id: str, reason: str, *, deadline: datetime | None = None
    ) -> None: ...

    def commit(self, hold_id: str) -> bool: ...

    def release(self, hold_id: str) -> bool: ...

    def hold_state(self, hold_id: str) -> HoldState | None: ...

    def restore_lapsed(self, hold: Hold) -> bool: ...


def as_details(details: Mapping | None) -> tuple[tuple[str, Any], ...]:
    """Entry details as sorted pairs (hashable, stable)."""
    return tuple(sorted((details or {}).items()))
