"""The credit ledger: a balance item plus append-only entries, changed only by transactions that
claim a business key and apply its effect together (PAY-2, PAY-4).

Every mutation is one TransactWriteItems: the claim (a condition that the key was never applied),
the conditional balance update (never below zero) and the entry. A retried or duplicated call finds
its claim and changes nothing.

Holds lapse (PAY-4): a hold's TTL is its work's deadline plus a margin. Past it the hold can only be
released, never committed; and if nobody settled it, its TTL delete (a stream REMOVE by DynamoDB)
brings `restore_lapsed`, which writes the hold back as released and returns its credits, once.

Replayable history (PAY-2): the balance item counts its movements (`sequence`). Each transaction
reads the balance and its sequence, writes the entry as number sequence + 1 with the balance after
it, and updates the balance only if the sequence is still the one read. Entries are keyed by that
number, so the listing is the order applied and replays, entry by entry, to the balance.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, errors
from chalicelib.domain.ports.ledger import EntryPage, Hold, HoldState, as_details, hold_lapses_at
from chalicelib.domain.ports.ledger import LedgerEntry as Entry
from chalicelib.retention import expiry
from chalicelib.store.base import Record
from chalicelib.store.models.ledger import (
    CreditBalance,
    CreditHold,
    LedgerClaim,
    LedgerEntry,
)
from chalicelib.store.paging import decode_cursor, encode_cursor

CONFLICT_RETRIES = 40  # concurrent transactions on one balance cancel each other; retry with jitter


class LedgerStore:
    def balance(self, user_id: str) -> int:
        item = CreditBalance.get_live(*CreditBalance.key(user_id), consistent_read=True)
        return int(item.balance) if item else 0

    def unrecovered(self, user_id: str) -> int:
        item = CreditBalance.get_live(*CreditBalance.key(user_id), consistent_read=True)
        return int(item.unrecovered) if item else 0

    # -- grants --------------------------------------------------------------------------------
    def grant(
        self,
        user_id: str,
        amount: int,
        key: str,
        reason: str,
        details: Mapping | None = None,
        *,
        with_records: Iterable[Record] = (),
    ) -> bool:
        """Add `amount` credits once per business `key`; False when the key was already applied."""
        _require_positive(amount)
        extra = list(with_records)
        for _ in _attempts():
            now = clock.now()
            position = _position(user_id)
            entry = _entry(user_id, "grant", amount, reason, key, details, now, position)
            actions = _balance_actions(user_id, amount, now, position)
            applied = self._move_once(key, user_id, amount, now, actions, entry, extra, _unmoved(position))
            if applied is not None:
                return applied
        raise errors.Conflict("The ledger is busy; please retry.")

    def claw_back(
        self,
        user_id: str,
        amount: int,
        key: str,
        reason: str,
        details: Mapping | None = None,
        *,
        with_records: Iterable[Record] = (),
    ) -> tuple[int, int] | None:
        """Take back up to `amount` credits once per `key`, never below zero.

        Credits already spent cannot be taken back: the part missing is recorded as the entry's
        `shortfall` and added to the balance's `unrecovered` counter for the operator. Returns
        (taken, shortfall), or None when the key was already applied.
        """
        _require_positive(amount)
        extra = list(with_records)
        for _ in _attempts():
            now = clock.now()
            position = _position(user_id)
            taken = min(amount, position.balance)
            shortfall = amount - taken
            entry = _entry(user_id, "clawback", -taken, reason, key, details, now, position)
            entry.shortfall = shortfall or None
            actions = _balance_actions(user_id, -taken, now, position)
            if shortfall:
                actions.append(CreditBalance.unrecovered.add(shortfall))
            # The balance must still be the one read, so `taken` is exact and never overdraws.
            applied = self._move_once(key, user_id, taken, now, actions, entry, extra, _unmoved(position))
            if applied is not None:
                return (taken, shortfall) if applied else None
        raise errors.Conflict("The ledger is busy; please retry.")

    def _move_once(
        self,
        key: str,
        user_id: str,
        amount: int,
        now: datetime,
        actions: list,
        entry: LedgerEntry,
        extra: list[Record],
        condition,
    ) -> bool | None:
        """Claim `key`, update the balance, write the entry and the caller's records in one transaction.

        True when applied, False when `key` was already claimed, None when a concurrent write
        cancelled the transaction (the caller reads again and retries)."""
        try:
            with self._transaction() as tx:
                tx.save(_claim(key, user_id, amount, now), condition=LedgerClaim.pk.does_not_exist())
                tx.update(_balance(user_id), actions, condition=condition)
                tx.save(entry)
                for record in extra:
                    tx.save(record)
        except TransactWriteError:
            return False if _claimed(key) else None
        return True

    def applied_amount(self, key: str) -> int | None:
        """The credits a business key moved, or None when it was never applied."""
        claim = LedgerClaim.get_live(*LedgerClaim.key(key), consistent_read=True)
        return None if claim is None else int(claim.amount or 0)

    # -- holds ---------------------------------------------------------------------------------
    def hold(
        self,
        user_id: str,
        amount: int,
        hold_id: str,
        reason: str,
        *,
        deadline: datetime | None = None,
        with_records: Iterable[Record] = (),
    ) -> None:
        """Reserve `amount` credits under `hold_id`, together with the caller's records, in one
        transaction; the hold lapses a margin after `deadline`. Raises InsufficientCredits when the
        balance is short; a repeated hold_id charges nothing."""
        _require_positive(amount)
        extra = list(with_records)
        for _ in _attempts():
            now = clock.now()
            position = _position(user_id)
            if position.balance < amount:
                if _hold(hold_id) is not None:
                    return
                raise errors.InsufficientCredits(
                    "Not enough credits.", details={"required": amount, "balance": position.balance}
                )
            hold = CreditHold(
                *CreditHold.key(hold_id),
                owner_id=user_id,
                amount=amount,
                state=HoldState.HELD.value,
                reason=reason,
                created_at=now,
                expires_at=hold_lapses_at(now, deadline),
            )
            try:
                with self._transaction() as tx:
                    tx.save(hold, condition=CreditHold.pk.does_not_exist())
                    tx.update(
                        _balance(user_id),
                        _balance_actions(user_id, -amount, now, position),
                        condition=_unmoved(position),
                    )
                    tx.save(_entry(user_id, "hold", -amount, reason, hold_id, None, now, position))
                    for record in extra:
                        tx.save(record)
                return
            except TransactWriteError:
                if _hold(hold_id) is not None:
                    return
        raise errors.Conflict("The ledger is busy; please retry.")

    def commit(self, hold_id: str) -> bool:
        """Spend a held amount. True only when this call committed it (not released, not lapsed,
        not twice)."""
        return self._settle(hold_id, HoldState.COMMITTED)

    def release(self, hold_id: str) -> bool:
        """Return a held amount to the balance. True only when this call released it."""
        return self._settle(hold_id, HoldState.RELEASED)

    def hold_state(self, hold_id: str) -> HoldState | None:
        hold = _hold(hold_id)
        return HoldState(hold.state) if hold else None

    def _settle(self, hold_id: str, state: HoldState) -> bool:
        """A hold past its lapse is released whatever was asked: its deadline has passed (PAY-4)."""
        for _ in _attempts():
            hold = _hold(hold_id)
            if hold is None or hold.state != HoldState.HELD:
                return False
            now = clock.now()
            applied = HoldState.RELEASED if not hold.is_live(now) else state
            user_id = hold.owner_id
            amount = int(hold.amount)
            returned = amount if applied is HoldState.RELEASED else 0
            kind = "release" if applied is HoldState.RELEASED else "commit"
            position = _position(user_id)
            try:
                with self._transaction() as tx:
                    tx.update(
                        hold,
                        [
                            CreditHold.state.set(applied.value),
                            CreditHold.settled_at.set(now),
                            CreditHold.expires_at.set(_legal_expiry(now)),
                        ],
                        condition=CreditHold.state == HoldState.HELD.value,
                    )
                    tx.update(
                        _balance(user_id),
                        _balance_actions(user_id, returned, now, position),
                        condition=_unmoved(position),
                    )
                    tx.save(_entry(user_id, kind, returned, hold.reason, hold_id, {"held": amount}, now, position))
            except TransactWriteError:
                continue  # settled concurrently (the next read says so), or the balance moved
            return applied is state
        raise errors.Conflict("The ledger is busy; please retry.")

    def restore_lapsed(self, hold: Hold) -> bool:
        """Write a lapsed hold, deleted by its TTL while still held, back as released and return
        its credits, in one transaction conditional on the hold being absent (PAY-4). False when
        it was restored already."""
        for _ in _attempts():
            now = clock.now()
            position = _position(hold.user_id)
            released = CreditHold(
                *CreditHold.key(hold.hold_id),
                owner_id=hold.user_id,
                amount=hold.amount,
                state=HoldState.RELEASED.value,
                reason=hold.reason,
                created_at=now,
                settled_at=now,
            )
            details = {"held": hold.amount, "lapsed": True}
            try:
                with self._transaction() as tx:
                    tx.save(released, condition=CreditHold.pk.does_not_exist())
                    tx.update(
                        _balance(hold.user_id),
                        _balance_actions(hold.user_id, hold.amount, now, position),
                        condition=_unmoved(position),
                    )
                    tx.save(
                        _entry(hold.user_id, "release", hold.amount, hold.reason, hold.hold_id, details, now, position)
                    )
            except TransactWriteError:
                if _hold(hold.hold_id) is not None:
                    return False
                continue
            return True
        raise errors.Conflict("The ledger is busy; please retry.")

    @staticmethod
    def lapsed_hold(image: Mapping[str, Any]) -> Hold | None:
        """The hold a TTL delete removed, from the stream record's old image; None for other records."""
        hold_id = str(image.get("pk", "")).removeprefix("HOLD#")
        if not hold_id or image.get("sk") != CreditHold.key(hold_id)[1]:
            return None
        return Hold(
            hold_id=hold_id,
            user_id=str(image["owner_id"]),
            amount=int(image["amount"]),
            state=HoldState(image["state"]),
            reason=str(image.get("reason", "")),
        )

    # -- reading -------------------------------------------------------------------------------
    def entries(self, user_id: str, limit: int = 50, cursor: str | None = None) -> EntryPage:
        """Newest first in the order applied (by sequence). `cursor` is opaque; pass back the
        `next_cursor` of the previous page."""
        limit = max(1, min(int(limit), 200))
        pk = CreditBalance.key(user_id)[0]
        start = decode_cursor(cursor, pk=pk, sk_prefix=LedgerEntry.ENTRY_PREFIX) if cursor else None
        results = LedgerEntry.query(
            pk,
            LedgerEntry.sk.startswith(LedgerEntry.ENTRY_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=start,
            consistent_read=True,  # the page's balance is its newest entry's: as fresh as `balance`
        )
        now = clock.now()
        page = tuple(_entry_value(entry) for entry in results if entry.is_live(now))
        last = results.last_evaluated_key
        return EntryPage(page, encode_cursor(last) if last else None)

    # -- erasure -------------------------------------------------------------------------------
    @staticmethod
    def _transaction() -> TransactWrite:
        return TransactWrite(connection=CreditBalance._get_connection().connection)


# -- helpers -------------------------------------------------------------------------------------
def time_key(moment: datetime) -> str:
    """Fixed-width UTC time, so keys sort in time order (isoformat drops zero microseconds)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _require_positive(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise errors.InvalidInput("A credit amount must be a positive whole number.")


def _balance(user_id: str) -> CreditBalance:
    return CreditBalance(*CreditBalance.key(user_id))


@dataclass(frozen=True)
class _Position:
    """A balance as read, with the number of movements applied to it so far."""

    balance: int
    sequence: int


def _position(user_id: str) -> _Position:
    # Not `get_live`: the writer must see the item even past its TTL, or the sequence would restart.
    try:
        item = CreditBalance.get(*CreditBalance.key(user_id), consistent_read=True)
    except CreditBalance.DoesNotExist:
        return _Position(0, 0)
    return _Position(int(item.balance or 0), int(item.sequence or 0))


def _unmoved(position: _Position):
    """The balance has had no movement since `position` was read."""
    if position.sequence:
        return CreditBalance.sequence == position.sequence
    return CreditBalance.sequence.does_not_exist()


def _attempts():
    """Attempt numbers for an optimistic write, with a short jittered pause between them."""
    for attempt in range(CONFLICT_RETRIES):
        if attempt:
            time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))  # noqa: S311 (jitter, not secrecy)
        yield attempt


def _balance_actions(user_id: str, delta: int, now: datetime, position: _Position) -> list:
    # An update expression bypasses `serialize`, so the legal-retention TTL is set here: the
    # balance outlives its last movement by the profile's legal period.
    actions = [
        CreditBalance.sequence.set(position.sequence + 1),
        CreditBalance.owner_id.set(user_id),
        CreditBalance.updated_at.set(now),
        CreditBalance.expires_at.set(_legal_expiry(now)),
    ]
    if delta:
        actions.append(CreditBalance.balance.add(delta))
    return actions


def _claim(key: str, user_id: str, amount: int, now: datetime) -> LedgerClaim:
    return LedgerClaim(*LedgerClaim.key(key), owner_id=user_id, amount=amount, created_at=now)


def _claimed(key: str) -> bool:
    return LedgerClaim.get_live(*LedgerClaim.key(key), consistent_read=True) is not None


def _hold(hold_id: str) -> CreditHold | None:
    # Not `get_live`: a hold past its lapse is still the truth about its credits until settled.
    try:
        return CreditHold.get(*CreditHold.key(hold_id), consistent_read=True)
    except CreditHold.DoesNotExist:
        return None


def _legal_expiry(now: datetime) -> datetime | None:
    """Every money record outlives its last change by the profile's legal period (PAY-3)."""
    return expiry(CreditBalance._profile, CreditBalance.category, now)


def _entry(
    user_id: str,
    kind: str,
    amount: int,
    reason: str,
    reference: str,
    details: Mapping | None,
    now: datetime,
    position: _Position,
) -> LedgerEntry:
    """The movement applied on top of `position`: number sequence + 1, with the balance after it."""
    sequence = position.sequence + 1
    return LedgerEntry(
        *LedgerEntry.key(user_id, sequence),
        owner_id=user_id,
        kind=kind,
        amount=amount,
        reason=reason,
        reference=reference,
        details=json.dumps(details, sort_keys=True) if details else None,
        sequence=sequence,
        balance_after=position.balance + amount,
        created_at=now,
    )


def _entry_value(entry: LedgerEntry) -> Entry:
    return Entry(
        sequence=int(entry.sequence),
        balance_after=int(entry.balance_after),
        at=entry.created_at,
        kind=entry.kind,
        amount=int(entry.amount),
        reason=entry.reason,
        reference=entry.reference,
        details=as_details(json.loads(entry.details) if entry.details else None),
        shortfall=int(entry.shortfall or 0),
    )
