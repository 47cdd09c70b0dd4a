"""In-memory ledger, payment records and payment provider (chalicelib/domain/ports/ledger.py, billing.py).

Same semantics as the DynamoDB stores: business keys applied once, holds that never overdraw and
settle once, lapsed holds released, claw-backs that stop at zero and record the shortfall, paged
entries newest first with a cursor bound to its account,.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib import clock, errors
from chalicelib.domain.ports.billing import (
    ChargeState,
    CheckoutRequest,
    CheckoutState,
    DisputeState,
    InvoiceState,
    Payment,
    ProviderEvent,
    Settlement,
    StoredPayment,
    Subscription,
    SubscriptionState,
)
from chalicelib.domain.ports.ledger import (
    CreditMovement,
    EntryPage,
    Hold,
    HoldState,
    LedgerEntry,
    as_details,
    hold_lapses_at,
)
from chalicelib.domain.ports.processors import ProcessorAck


@dataclass
class _HoldRecord:
    hold: Hold
    lapses_at: datetime | None  # None once settled: it then keeps the legal retention


def _now() -> datetime:
    return clock.now()  # looked up at each call, so tests that move the clock move the fake too


@dataclass
class FakeLedger:
    now: Callable[[], datetime] = _now
    balances: dict[str, int] = field(default_factory=dict)
    unrecovered_credits: dict[str, int] = field(default_factory=dict)
    movements: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    claims: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (owner, credits moved)
    holds: dict[str, _HoldRecord] = field(default_factory=dict)

    def balance(self, user_id: str) -> int:
        return self.balances.get(user_id, 0)

    def unrecovered(self, user_id: str) -> int:
        return self.unrecovered_credits.get(user_id, 0)

    def grant(self, user_id: str, amount: int, key: str, reason: str, details: Mapping | None = None) -> bool:
        _require_positive(amount)
        if key in self.claims:
            return False
        self.claims[key] = (user_id, amount)
        self._move(user_id, "grant", amount, reason, key, details)
        return True

    def claw_back(
        self, user_id: str, amount: int, key: str, reason: str, details: Mapping | None = None
    ) -> tuple[int, int] | None:
        _require_positive(amount)
        if key in self.claims:
            return None
        taken = min(amount, self.balance(user_id))
        shortfall = amount - taken
        self.claims[key] = (user_id, taken)
        self._move(user_id, "clawback", -taken, reason, key, details, shortfall=shortfall)
        if shortfall:
            self.unrecovered_credits[user_id] = self.unrecovered(user_id) + shortfall
        return taken, shortfall

    def hold(self, user_id: str, amount: int, hold_id: str, reason: str, *, deadline: datetime | None = None) -> None:
        _require_positive(amount)
        balance = self.balance(user_id)
        if balance < amount and hold_id not in self.holds:
            raise errors.InsufficientCredits("Not enough credits.", details={"required": amount, "balance": balance})
        if hold_id in self.holds:
            return
        now = self.now()
        self.holds[hold_id] = _HoldRecord(
            Hold(hold_id, user_id, amount, HoldState.HELD, reason), hold_lapses_at(now, deadline)
        )
        self._move(user_id, "hold", -amount, reason, hold_id, None)

    def commit(self, hold_id: str) -> bool:
        return self._settle(hold_id, HoldState.COMMITTED)

    def release(self, hold_id: str) -> bool:
        return self._settle(hold_id, HoldState.RELEASED)

    def hold_state(self, hold_id: str) -> HoldState | None:
        record = self.holds.get(hold_id)
        return record.hold.state if record else None

    def restore_lapsed(self, hold: Hold) -> bool:
        if hold.hold_id in self.holds:
            return False
        self.holds[hold.hold_id] = _HoldRecord(replace(hold, state=HoldState.RELEASED), None)
        details = {"held": hold.amount, "lapsed": True}
        self._move(hold.user_id, "release", hold.amount, hold.reason, hold.hold_id, details)
        return True

    def ttl_delete_lapsed(self) -> list[Hold]:
        """What DynamoDB's TTL does: holds past their lapse and never settled disappear; returns
        their last images, as the stream would deliver them."""
        now = self.now()
        gone = [r.hold for r in self.holds.values() if r.lapses_at is not None and r.lapses_at <= now]
        for hold in gone:
            del self.holds[hold.hold_id]
        return gone

    def entries(self, user_id: str, limit: int = 50, cursor: str | None = None) -> EntryPage:
        limit = max(1, min(int(limit), 200))
        newest_first = self.movements.get(user_id, [])[::-1]
        start = _decode_cursor(cursor, user_id) if cursor else None
        if start is not None:
            newest_first = [entry for entry in newest_first if entry.sequence < start]
        page = tuple(newest_first[:limit])
        next_cursor = f"{user_id}|{page[-1].sequence}" if len(page) == limit else None
        return EntryPage(page, next_cursor)

    def _settle(self, hold_id: str, state: HoldState) -> bool:
        record = self.holds.get(hold_id)
        if record is None or record.hold.state is not HoldState.HELD:
            return False
        lapsed = record.lapses_at is not None and record.lapses_at <= self.now()
        applied = HoldState.RELEASED if lapsed else state
        hold = record.hold
        record.hold, record.lapses_at = replace(hold, state=applied), None
        returned = hold.amount if applied is HoldState.RELEASED else 0
        kind = "release" if applied is HoldState.RELEASED else "commit"
        self._move(hold.user_id, kind, returned, hold.reason, hold_id, {"held": hold.amount})
        return applied is state

    def _move(
        self,
        user_id: str,
        kind: str,
        amount: int,
        reason: str,
        reference: str,
        details: Mapping | None,
        *,
        shortfall: int = 0,
    ) -> None:
        entries = self.movements.setdefault(user_id, [])
        balance = self.balance(user_id) + amount
        self.balances[user_id] = balance
        entries.append(
            LedgerEntry(
                sequence=len(entries) + 1,
                balance_after=balance,
                at=self.now(),
                kind=kind,
                amount=amount,
                reason=reason,
                reference=reference,
                details=as_details(details),
                shortfall=shortfall,
            )
        )


@dataclass
class FakePayments:
    ledger: FakeLedger
    records: dict[str, StoredPayment] = field(default_factory=dict)
    intents: dict[str, str] = field(default_factory=dict)  # payment intent -> stripe id
    subscriptions: dict[str, tuple[str, Subscription]] = field(default_factory=dict)  # id -> (owner, state)
    reviews: list[str] = field(default_factory=list)

    def fulfil(self, payment: Payment, grant: CreditMovement) -> bool:
        current = self.records.get(payment.stripe_id)
        if current is not None and current.status == "paid":
            return False
        if not self.ledger.grant(payment.user_id, grant.credits, grant.key, grant.reason, dict(grant.details)):
            return False
        now = self.ledger.now()
        self.records[payment.stripe_id] = StoredPayment(
            payment=payment,
            status="paid",
            settlement=Settlement(credits=payment.credits, amount=payment.amount),
            created_at=current.created_at if current else now,
            paid_at=now,
            mismatch=current.mismatch if current else None,
        )
        if payment.payment_intent_id:
            self.intents[payment.payment_intent_id] = payment.stripe_id
        return True

    def mark(self, payment: Payment, status: str, *, mismatch: Mapping | None = None) -> bool:
        current = self.records.get(payment.stripe_id)
        if current is not None and current.status in ("paid", status):
            return False
        self.records[payment.stripe_id] = StoredPayment(
            payment=payment,
            status=status,
            settlement=Settlement(credits=payment.credits, amount=payment.amount),
            created_at=current.created_at if current else self.ledger.now(),
            mismatch=json.dumps(mismatch, sort_keys=True) if mismatch else (current.mismatch if current else None),
        )
        if mismatch and payment.stripe_id not in self.reviews:
            self.reviews.append(payment.stripe_id)
        return True

    def payment(self, stripe_id: str) -> StoredPayment | None:
        return self.records.get(stripe_id)

    def payment_for_intent(self, payment_intent_id: str) -> StoredPayment | None:
        stripe_id = self.intents.get(payment_intent_id)
        return self.records.get(stripe_id) if stripe_id else None

    def held_for_review(self, limit: int = 100) -> list[StoredPayment]:
        return [self.records[stripe_id] for stripe_id in self.reviews[:limit]]

    def settle(
        self, stripe_id: str, expected: Settlement, settled: Settlement, movement: CreditMovement | None
    ) -> int | None:
        current = self.records.get(stripe_id)
        if current is None or current.status != "paid" or current.settlement != expected:
            return None
        owner = current.payment.user_id
        moved = 0
        if movement is not None:
            details = dict(movement.details)
            if movement.returning:
                if not self.ledger.grant(owner, movement.credits, movement.key, movement.reason, details):
                    return 0
                moved = movement.credits
            else:
                applied = self.ledger.claw_back(owner, movement.credits, movement.key, movement.reason, details)
                if applied is None:
                    return 0
                moved = applied[0]
        self.records[stripe_id] = replace(current, settlement=settled)
        return moved

    def track_subscription(self, subscription_id: str, user_id: str, plan_id: str, status: str) -> None:
        self.subscriptions[subscription_id] = (user_id, Subscription(subscription_id, plan_id, status))

    def subscription(self, subscription_id: str) -> Subscription | None:
        found = self.subscriptions.get(subscription_id)
        return found[1] if found else None


@dataclass
class FakeAccountHolders:
    """Every account exists unless erased."""

    erased: set[str] = field(default_factory=set)

    def get_user(self, user_id: str, *, consistent: bool = False) -> object | None:
        return None if user_id in self.erased else {"user_id": user_id}


@dataclass
class FakePaymentProvider:
    """Stripe's objects as plain dicts, keyed by id, as the tests write them; answered in the port's
    neutral dataclasses, read as the Stripe adapter reads them. A delivery is genuine when signed
    "valid"."""

    objects: dict[str, dict] = field(default_factory=dict)
    sessions_created: list[CheckoutRequest] = field(default_factory=list)
    erasure_calls: list[tuple[str, str]] = field(default_factory=list)  # (action, customer), PAY-6

    def verify_event(self, payload: bytes, signature_header: str | None) -> ProviderEvent:
        if signature_header != "valid":
            raise errors.SignatureInvalid("The webhook signature is invalid.")
        event = json.loads(payload)
        return ProviderEvent(id=event["id"], type=event["type"], object_id=event["data"]["object"].get("id"))

    def create_checkout(self, request: CheckoutRequest) -> tuple[str, str]:
        session_id = f"cs_{request.idempotency_key.removeprefix('checkout-')[:12]}"
        fresh = {"id": session_id, "url": f"https://pay/{session_id}", "status": "open"}
        session = self.objects.setdefault(session_id, fresh)
        self.sessions_created.append(request)
        return session_id, session["url"]

    def checkout_session(self, session_id: str) -> CheckoutState:
        session = self._get(session_id)
        items = ((session.get("line_items") or {}).get("data")) or []
        return CheckoutState(
            checkout_id=session_id,
            user_id=session.get("client_reference_id"),
            price_ref=((items[0].get("price") or {}).get("id")) if items else None,
            quantity=_units(items),
            paid=session.get("payment_status") == "paid",
            status=session.get("status") or "open",
            mode=session.get("mode"),
            amount=session.get("amount_total"),
            currency=session.get("currency"),
            payment_ref=session.get("payment_intent"),
            subscription_id=session.get("subscription"),
            customer_ref=session.get("customer"),
        )

    def checkout_sessions_for_payment(self, payment_ref: str) -> list[str]:
        return [session["id"] for session in self._paying("cs_", payment_ref)]

    def invoice(self, invoice_id: str) -> InvoiceState:
        invoice = self._get(invoice_id)
        details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
        return InvoiceState(
            invoice_id=invoice_id,
            paid=invoice.get("status") == "paid",
            billing_reason=invoice.get("billing_reason"),
            subscription_id=details.get("subscription") or invoice.get("subscription"),
            amount=invoice.get("amount_paid"),
            currency=invoice.get("currency"),
            payment_ref=invoice.get("payment_intent"),
            customer_ref=invoice.get("customer"),
        )

    def invoices_for_payment(self, payment_ref: str) -> list[str]:
        return [invoice["id"] for invoice in self._paying("in_", payment_ref)]

    def subscription(self, subscription_id: str) -> SubscriptionState:
        subscription = self._get(subscription_id)
        items = ((subscription.get("items") or {}).get("data")) or []
        return SubscriptionState(
            subscription_id=subscription_id,
            user_id=(subscription.get("metadata") or {}).get("user_id"),
            price_ref=((items[0].get("price") or {}).get("id")) if items else None,
            quantity=_units(items),
            status=subscription.get("status") or "unknown",
        )

    def latest_charge(self, payment_ref: str) -> str | None:
        return self._get(payment_ref).get("latest_charge")

    def charge(self, charge_id: str) -> ChargeState:
        charge = self._get(charge_id)
        return ChargeState(charge_id, charge.get("payment_intent"), int(charge.get("amount_refunded") or 0))

    def dispute(self, dispute_id: str) -> DisputeState:
        return _dispute(self._get(dispute_id))

    def disputes_for_charge(self, charge_id: str) -> list[DisputeState]:
        return [
            _dispute(o) for o in self.objects.values() if o["id"].startswith("dp_") and o.get("charge") == charge_id
        ]

    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck:
        for obj in self.objects.values():
            if obj["id"].startswith("sub_") and obj.get("customer") == customer_ref:
                obj["status"] = "canceled"
        self.erasure_calls.append(("cancel_subscriptions", customer_ref))
        return ProcessorAck("Stripe", "cancel_subscriptions", customer_ref, True)

    def delete_customer(self, customer_ref: str) -> ProcessorAck:
        self.objects.pop(customer_ref, None)
        self.erasure_calls.append(("delete_customer", customer_ref))
        return ProcessorAck("Stripe", "delete_customer", customer_ref, True)

    def _paying(self, prefix: str, payment_intent_id: str) -> list[dict]:
        """Objects of one kind (by id prefix) that the payment intent paid."""
        return [
            o
            for o in self.objects.values()
            if o["id"].startswith(prefix) and o.get("payment_intent") == payment_intent_id
        ]

    def _get(self, object_id: str) -> dict:
        try:
            return self.objects[object_id]
        except KeyError:
            raise errors.NotFound("Stripe does not know this object.") from None


def _units(items: list[dict]) -> int | None:
    quantities = [item.get("quantity") for item in items]
    return sum(quantities) if quantities and all(isinstance(q, int) for q in quantities) else None


def _dispute(dispute: dict) -> DisputeState:
    return DisputeState(
        dispute["id"],
        dispute.get("status"),
        int(dispute.get("created") or 0),
        dispute.get("charge"),
        dispute.get("payment_intent"),
    )


def _require_positive(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise errors.InvalidInput("A credit amount must be a positive whole number.")


def _decode_cursor(cursor: str, user_id: str) -> int:
    owner, _, sequence = cursor.rpartition("|")
    if owner != user_id or not sequence.isdigit():
        raise errors.InvalidInput("The cursor is invalid.")
    return int(sequence)
