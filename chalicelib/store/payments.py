"""Payment records and their effect on the ledger, each applied in one transaction with the
ledger claim of its business object (session, invoice, refund state, dispute) — PAY-1, PAY-3, PAY-4.

Claim keys: `stripe:payment:<session or invoice>`, `stripe:refund:<charge>:<amount refunded>`,
`stripe:dispute:<dispute>:opened` and `stripe:dispute:<dispute>:won`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from chalicelib import clock, errors
from chalicelib.domain.billing import (
    Payment,
    Settlement,
    after_dispute_closed,
    after_dispute_opened,
    after_refund,
)
from chalicelib.store.ledger import LedgerStore, time_key
from chalicelib.store.models.ledger import PAYMENT_REVIEWS, PaymentRecord, PaymentReference

RETRIES = 4


class PaymentStore:
    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger

    def fulfil(self, payment: Payment, reason: str) -> bool:
        """Record a paid payment and grant its credits, once. False when already fulfilled."""
        now = clock.now()
        record = self._record(payment.stripe_id) or PaymentRecord(*PaymentRecord.key(payment.stripe_id), created_at=now)
        if record.status == "paid":
            return False
        _copy_facts(record, payment)
        record.status, record.paid_at, record.updated_at = "paid", now, now
        records = [record]
        if payment.payment_intent_id:
            records.append(_reference(payment.payment_intent_id, payment.user_id, payment.stripe_id, now))
        key = f"stripe:payment:{payment.stripe_id}"
        details = {"product": payment.product_id, "payment": payment.stripe_id}
        try:
            return self._ledger.grant(payment.user_id, payment.credits, key, reason, details, with_records=records)
        except errors.Conflict:
            return False if self._ledger.applied_amount(key) is not None else _raise_busy()

    def mark(self, payment: Payment, status: str, *, mismatch: dict | None = None) -> bool:
        """Record an outcome that grants nothing (pending, failed, expired, subscribed, mismatch);
        a paid record is never downgraded. A mismatch is listed for operators."""
        for _ in range(RETRIES):
            now = clock.now()
            record = self._record(payment.stripe_id) or PaymentRecord(
                *PaymentRecord.key(payment.stripe_id), created_at=now
            )
            if record.status in ("paid", status):
                return False
            _copy_facts(record, payment)
            record.status, record.updated_at = status, now
            if mismatch:
                record.mismatch = json.dumps(mismatch, sort_keys=True)
                record.review_partition, record.review_since = PAYMENT_REVIEWS, time_key(now)
            try:
                record.save()
                return True
            except PaymentRecord.PutError:
                continue
        return _raise_busy()

    def hold_for_review(self, payment: Payment, mismatch: dict) -> bool:
        """Record a paid payment that does not match its catalogue price for an operator: no
        credits, never over a payment already granted. False when already recorded."""
        return self.mark(payment, "mismatch", mismatch=mismatch)

    def held_for_review(self, limit: int = 100) -> list[dict]:
        """Payments held for review, oldest first."""
        held = PaymentRecord.reviews.query(PAYMENT_REVIEWS, limit=limit)
        return [{**_view(record), "mismatch": json.loads(record.mismatch or "{}")} for record in held]

    def payment_for_intent(self, payment_intent_id: str) -> dict | None:
        reference = PaymentReference.get_live(*PaymentReference.key(payment_intent_id), consistent_read=True)
        if reference is None or not reference.payment_key:
            return None
        record = self._record(reference.payment_key)
        return _view(record) if record else None

    def payment(self, stripe_id: str) -> dict | None:
        record = self._record(stripe_id)
        return _view(record) if record else None

    # -- claw-backs ----------------------------------------------------------------------------
    def refund(self, stripe_id: str, charge_id: str, amount_refunded: int) -> int:
        """Take back credits in proportion to the amount refunded so far. Returns credits taken."""
        key = f"stripe:refund:{charge_id}:{amount_refunded}"
        details = {"payment": stripe_id, "refunded": amount_refunded}
        return self._settle(stripe_id, key, "refund", details, lambda s: after_refund(s, amount_refunded))

    def open_dispute(self, stripe_id: str, dispute_id: str) -> int:
        """A chargeback takes back the credits the payment still stands for. Returns credits taken."""
        key = f"stripe:dispute:{dispute_id}:opened"
        details = {"payment": stripe_id, "dispute": dispute_id}
        return self._settle(stripe_id, key, "payment disputed", details, lambda s: after_dispute_opened(s, dispute_id))

    def close_dispute(self, stripe_id: str, dispute_id: str, *, won: bool) -> int:
        """A dispute won gives back what its opening still holds. Returns credits returned."""
        key = f"stripe:dispute:{dispute_id}:{'won' if won else 'lost'}"
        details = {"payment": stripe_id, "dispute": dispute_id}
        step = functools.partial(after_dispute_closed, dispute_id=dispute_id, won=won)
        return self._settle(stripe_id, key, "dispute won", details, step, returning=True)

    def _settle(
        self,
        stripe_id: str,
        key: str,
        reason: str,
        details: dict,
        step: Callable[[Settlement], tuple[Settlement, int]],
        *,
        returning: bool = False,
    ) -> int:
        """Apply one settlement step to a paid payment (PAY-4): the record and the ledger movement
        (credits taken back, or given back when `returning`) change in one transaction with the
        step's claim `key`, so a step already applied shows in the record and changes nothing.
        Returns the credits moved."""
        for _ in range(RETRIES):
            record = self._record(stripe_id)
            if record is None or record.status != "paid":
                return 0
            before = _settlement(record)
            settled, credits = step(before)
            if settled == before:
                return 0
            _store_settlement(record, settled)
            record.updated_at = clock.now()
            try:
                if not credits:
                    record.save()
                    return 0
                if returning:
                    granted = self._ledger.grant(record.owner_id, credits, key, reason, details, with_records=[record])
                    return credits if granted else 0
                applied = self._ledger.claw_back(record.owner_id, credits, key, reason, details, with_records=[record])
                return applied[0] if applied else 0
            except (errors.Conflict, PaymentRecord.PutError):
                continue
        return _raise_busy()

    # -- subscriptions -------------------------------------------------------------------------
    def track_subscription(self, subscription_id: str, user_id: str, plan_id: str, status: str) -> None:
        now = clock.now()
        reference = PaymentReference.get_live(*PaymentReference.key(subscription_id), consistent_read=True)
        if reference is None:
            reference = PaymentReference(*PaymentReference.key(subscription_id), created_at=now)
        reference.owner_id, reference.product_id, reference.status, reference.updated_at = (
            user_id,
            plan_id,
            status,
            now,
        )
        reference.save()

    def subscription(self, subscription_id: str) -> dict | None:
        reference = PaymentReference.get_live(*PaymentReference.key(subscription_id), consistent_read=True)
        if reference is None:
            return None
        return {"subscription_id": subscription_id, "plan": reference.product_id, "status": reference.status}

    @staticmethod
    def _record(stripe_id: str) -> PaymentRecord | None:
        return PaymentRecord.get_live(*PaymentRecord.key(stripe_id), consistent_read=True)


def _copy_facts(record: PaymentRecord, payment: Payment) -> None:
    record.owner_id = payment.user_id
    for name in (
        "kind",
        "product_id",
        "mode",
        "credits",
        "amount",
        "currency",
        "session_id",
        "invoice_id",
        "payment_intent_id",
        "subscription_id",
        "customer_id",
        "billing_reason",
    ):
        setattr(record, name, getattr(payment, name))


def _settlement(record: PaymentRecord) -> Settlement:
    return Settlement(
        credits=int(record.credits),
        amount=None if record.amount is None else int(record.amount),
        refunded_amount=int(record.refunded_amount or 0),
        credits_refunded=int(record.credits_refunded or 0),
        credits_disputed=int(record.credits_disputed or 0),
        dispute_id=record.dispute_id,
        dispute_status=record.dispute_status,
    )


def _store_settlement(record: PaymentRecord, settled: Settlement) -> None:
    record.refunded_amount = settled.refunded_amount
    record.credits_refunded = settled.credits_refunded
    record.credits_disputed = settled.credits_disputed
    record.dispute_id, record.dispute_status = settled.dispute_id, settled.dispute_status


def _reference(stripe_id: str, user_id: str, payment_key: str, now) -> PaymentReference:
    return PaymentReference(*PaymentReference.key(stripe_id), owner_id=user_id, payment_key=payment_key, created_at=now)


def _view(record: PaymentRecord) -> dict:
    return {
        "payment": record.pk.removeprefix("PAYMENT#"),
        "user_id": record.owner_id,
        "kind": record.kind,
        "product": record.product_id,
        "status": record.status,
        "credits": int(record.credits),
        "amount": None if record.amount is None else int(record.amount),
        "currency": record.currency,
        "refunded_amount": int(record.refunded_amount or 0),
        "credits_refunded": int(record.credits_refunded or 0),
        "dispute_status": record.dispute_status,
        "payment_intent": record.payment_intent_id,
        "created_at": record.created_at.isoformat(),
        "paid_at": record.paid_at.isoformat() if record.paid_at else None,
    }


def _raise_busy():
    raise errors.Conflict("The payment is being updated concurrently; please retry.")
