"""Payment records and their effect on the ledger, each applied in one transaction with the
ledger claim of its business object (session, invoice, refund state, dispute) — PAY-1, PAY-3, PAY-4.

Claim keys: `stripe:payment:<session or invoice>`, `stripe:refund:<charge>:<amount refunded>`,
`stripe:dispute:<dispute>:opened` and `stripe:dispute:<dispute>:won`.
"""

from __future__ import annotations

from chalicelib import clock, errors
from chalicelib.domain.billing import Payment
from chalicelib.store.ledger import LedgerStore
from chalicelib.store.models.ledger import PaymentRecord, PaymentReference

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

    def mark(self, payment: Payment, status: str) -> bool:
        """Record an unpaid outcome (pending, failed, expired); a paid record is never downgraded."""
        for _ in range(RETRIES):
            now = clock.now()
            record = self._record(payment.stripe_id) or PaymentRecord(
                *PaymentRecord.key(payment.stripe_id), created_at=now
            )
            if record.status in ("paid", status):
                return False
            _copy_facts(record, payment)
            record.status, record.updated_at = status, now
            try:
                record.save()
                return True
            except PaymentRecord.PutError:
                continue
        return _raise_busy()

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
        for _ in range(RETRIES):
            record = self._record(stripe_id)
            if record is None or record.status != "paid" or amount_refunded <= (record.refunded_amount or 0):
                return 0
            total = int(record.amount or 0) or amount_refunded
            target = int(record.credits) * min(amount_refunded, total) // total
            delta = max(0, target - int(record.credits_refunded))
            still_held = int(record.credits) - int(record.credits_refunded) - int(record.credits_disputed)
            from_balance = max(0, min(delta, still_held))
            # Credits an open dispute already took now count as refunded: a dispute won later
            # returns only what is left of it.
            record.credits_disputed = int(record.credits_disputed) - (delta - from_balance)
            record.refunded_amount, record.credits_refunded = amount_refunded, int(record.credits_refunded) + delta
            record.updated_at = clock.now()
            if from_balance == 0:
                record.save()
                return 0
            key = f"stripe:refund:{charge_id}:{amount_refunded}"
            details = {"payment": stripe_id, "refunded": amount_refunded}
            try:
                applied = self._ledger.claw_back(
                    record.owner_id, from_balance, key, "refund", details, with_records=[record]
                )
            except errors.Conflict:
                continue
            return applied[0] if applied else 0
        return _raise_busy()

    def open_dispute(self, stripe_id: str, dispute_id: str) -> int:
        """A chargeback takes back the credits the payment still stands for. Returns credits taken."""
        key = f"stripe:dispute:{dispute_id}:opened"
        for _ in range(RETRIES):
            record = self._record(stripe_id)
            if record is None or record.status != "paid" or self._ledger.applied_amount(key) is not None:
                return 0
            amount = int(record.credits) - int(record.credits_refunded) - int(record.credits_disputed)
            record.dispute_id, record.dispute_status, record.updated_at = dispute_id, "open", clock.now()
            record.credits_disputed = int(record.credits_disputed) + max(amount, 0)
            if amount <= 0:
                record.save()
                return 0
            details = {"payment": stripe_id, "dispute": dispute_id}
            try:
                applied = self._ledger.claw_back(
                    record.owner_id, amount, key, "payment disputed", details, with_records=[record]
                )
            except errors.Conflict:
                continue
            return applied[0] if applied else 0
        return _raise_busy()

    def close_dispute(self, stripe_id: str, dispute_id: str, *, won: bool) -> int:
        """A dispute won gives back exactly what its opening took. Returns credits returned."""
        taken = self._ledger.applied_amount(f"stripe:dispute:{dispute_id}:opened")
        for _ in range(RETRIES):
            record = self._record(stripe_id)
            if record is None or record.dispute_status in ("won", "lost"):
                return 0
            record.dispute_id, record.dispute_status, record.updated_at = (
                dispute_id,
                "won" if won else "lost",
                clock.now(),
            )
            returned = min(taken or 0, int(record.credits_disputed))
            if not won or not returned:
                record.save()
                return 0
            record.credits_disputed = int(record.credits_disputed) - returned
            key = f"stripe:dispute:{dispute_id}:won"
            details = {"payment": stripe_id, "dispute": dispute_id}
            try:
                granted = self._ledger.grant(record.owner_id, taken, key, "dispute won", details, with_records=[record])
            except errors.Conflict:
                continue
            return taken if granted else 0
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
        "created_at": record.created_at.isoformat(),
        "paid_at": record.paid_at.isoformat() if record.paid_at else None,
    }


def _raise_busy():
    raise errors.Conflict("The payment is being updated concurrently; please retry.")
