"""Payment records and their effect on the ledger, each applied in one transaction with the
ledger claim of its business object (session, invoice, refund state, dispute) — PAY-1, PAY-3, PAY-4.

The arithmetic of refunds and disputes is the domain's (chalicelib/domain/billing.py); this store
records a settlement step only if the payment still stands where the step was computed from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from chalicelib import clock, errors
from chalicelib.domain.ports.billing import Payment, Settlement, StoredPayment, Subscription
from chalicelib.domain.ports.ledger import CreditMovement
from chalicelib.store.ledger import LedgerStore, time_key
from chalicelib.store.models.ledger import PAYMENT_REVIEWS, PaymentRecord, PaymentReference

RETRIES = 4


class PaymentStore:
    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger

    def fulfil(self, payment: Payment, grant: CreditMovement) -> bool:
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
        details = dict(grant.details)
        try:
            return self._ledger.grant(
                payment.user_id, grant.credits, grant.key, grant.reason, details, with_records=records
            )
        except errors.Conflict:
            return False if self._ledger.applied_amount(grant.key) is not None else _raise_busy()

    def mark(self, payment: Payment, status: str, *, mismatch: Mapping | None = None) -> bool:
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

    def held_for_review(self, limit: int = 100) -> list[StoredPayment]:
        """Payments held for review, oldest first."""
        return [_stored(record) for record in PaymentRecord.reviews.query(PAYMENT_REVIEWS, limit=limit)]

    def payment_for_intent(self, payment_intent_id: str) -> StoredPayment | None:
        reference = PaymentReference.get_live(*PaymentReference.key(payment_intent_id), consistent_read=True)
        if reference is None or not reference.payment_key:
            return None
        return self.payment(reference.payment_key)

    def payment(self, stripe_id: str) -> StoredPayment | None:
        record = self._record(stripe_id)
        return _stored(record) if record else None

    def settle(
        self, stripe_id: str, expected: Settlement, settled: Settlement, movement: CreditMovement | None
    ) -> int | None:
        """Record one settlement step of a paid payment and its ledger movement (credits taken back,
        or given back when `returning`) in one transaction with the movement's claim (PAY-4).
        Returns the credits moved; None when the payment no longer stands at `expected` (the
        caller reads again)."""
        record = self._record(stripe_id)
        if record is None or record.status != "paid" or _settlement(record) != expected:
            return None
        _store_settlement(record, settled)
        record.updated_at = clock.now()
        try:
            if movement is None:
                record.save()
                return 0
            owner, details = record.owner_id, dict(movement.details)
            if movement.returning:
                granted = self._ledger.grant(
                    owner, movement.credits, movement.key, movement.reason, details, with_records=[record]
                )
                return movement.credits if granted else 0
            applied = self._ledger.claw_back(
                owner, movement.credits, movement.key, movement.reason, details, with_records=[record]
            )
            return applied[0] if applied else 0
        except (errors.Conflict, PaymentRecord.PutError):
            return None

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

    def subscription(self, subscription_id: str) -> Subscription | None:
        reference = PaymentReference.get_live(*PaymentReference.key(subscription_id), consistent_read=True)
        if reference is None:
            return None
        return Subscription(subscription_id, plan=reference.product_id, status=reference.status)

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


def _stored(record: PaymentRecord) -> StoredPayment:
    payment = Payment(
        stripe_id=record.pk.removeprefix("PAYMENT#"),
        user_id=record.owner_id,
        kind=record.kind,
        product_id=record.product_id,
        mode=record.mode,
        credits=int(record.credits),
        amount=None if record.amount is None else int(record.amount),
        currency=record.currency,
        session_id=record.session_id,
        invoice_id=record.invoice_id,
        payment_intent_id=record.payment_intent_id,
        subscription_id=record.subscription_id,
        customer_id=record.customer_id,
        billing_reason=record.billing_reason,
    )
    return StoredPayment(
        payment=payment,
        status=record.status,
        settlement=_settlement(record),
        created_at=record.created_at,
        paid_at=record.paid_at,
        mismatch=record.mismatch,
    )


def _raise_busy():
    raise errors.Conflict("The payment is being updated concurrently; please retry.")
