"""Buying credits through Stripe Checkout: the catalogue, checkout, and fulfilment from every path.

Rules (PAY-1, PAY-2, PAY-4):
- Fulfilment is one method per business object (session, invoice, charge, dispute), called from
  the webhook and, for sessions, from the success redirect too. Each re-fetches its object from
  Stripe, so events may arrive duplicated or in any order: the current state decides.
- The provider answers in neutral dataclasses (CheckoutState, InvoiceState, ...; the Stripe adapter
  maps Stripe's JSON to them), so no Stripe field name appears here.
- Credits are granted only for a paid checkout or invoice at the catalogue's price (one unit, its
  amount, its currency; anything else is held for an operator), once per session or invoice (the
  ledger claim is written in the same transaction as the credits and the payment record).
- Every event about a paid payment (checkout, invoice, refund, dispute) ends in `settle_charge`,
  which applies what Stripe reports now in one fixed order, so any delivery order of any events
  reaches the same final state.
- Refunds and chargebacks take credits back in proportion (`Settlement`, pure steps below);
  credits already spent cannot be taken back, so the balance stops at zero and the shortfall is
  recorded for the operator (`unrecovered` on the balance, `shortfall` on the entry) rather than
  driving the balance negative.
- A hold that lapsed while still held returns its credits once; a result arriving after that finds
  the hold released and cannot spend it (PAY-4).

`BillingService` is the one entry point of the area; the rules it applies are the pure functions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chalicelib import clock, errors
from chalicelib.domain.catalogue import Catalogue, Product
from chalicelib.domain.ports.billing import (
    AccountHolders,
    CheckoutRequest,
    CheckoutState,
    Payment,
    PaymentProvider,
    PaymentRecords,
    Settlement,
    StoredPayment,
)
from chalicelib.domain.ports.ledger import CreditMovement, Hold, HoldState, Ledger, LedgerEntry, as_details
from chalicelib.metrics import Metric, emit
from chalicelib.observability import logger
from chalicelib.profile.schema import JobKind

PERIOD_REASONS = ("subscription_create", "subscription_cycle")
DISPUTE_RETURNED = ("won", "warning_closed")
CHECKOUT_CHAIN_LIMIT = 20  # keyless checkouts of one product a buyer finishes in an hour
SETTLE_RETRIES = 4  # a settlement step computed from a payment that changed meanwhile is recomputed


def price_mismatch(product: Product, *, amount: Any, currency: Any, quantity: Any) -> dict:
    """What a payment paid that differs from the catalogue's price of its product (PAY-4): one
    unit, at the product's amount, in its currency. Empty when it paid exactly that."""
    expected = {"amount": product.amount, "currency": product.currency, "quantity": 1}
    paid = {"amount": amount, "currency": currency.lower() if isinstance(currency, str) else currency}
    paid["quantity"] = quantity
    return {
        field: {"expected": expected[field], "paid": paid[field]}
        for field in expected
        if paid[field] != expected[field]
    }


# -- refunds and chargebacks: pure steps --------------------------------------------------------
def after_refund(settlement: Settlement, amount_refunded: int) -> tuple[Settlement, int]:
    """Credits follow the amount refunded so far, in proportion (PAY-4). Returns the credits to
    take from the balance: credits a standing chargeback already took now count as refunded instead
    of being taken twice, so a dispute won later returns only what is left of it."""
    if amount_refunded <= settlement.refunded_amount:
        return settlement, 0
    total = settlement.amount or amount_refunded
    target = settlement.credits * min(amount_refunded, total) // total
    newly_refunded = max(0, target - settlement.credits_refunded)
    take = min(newly_refunded, settlement.standing)
    settled = replace(
        settlement,
        refunded_amount=amount_refunded,
        credits_refunded=settlement.credits_refunded + newly_refunded,
        credits_disputed=settlement.credits_disputed - (newly_refunded - take),
    )
    return settled, take


def after_dispute_opened(settlement: Settlement, dispute_id: str) -> tuple[Settlement, int]:
    """A chargeback takes back every credit the payment still stands for (PAY-4), once per dispute.
    Returns the credits to take from the balance."""
    if settlement.dispute_id == dispute_id:
        return settlement, 0  # opened or closed already
    take = settlement.standing
    settled = replace(
        settlement, credits_disputed=settlement.credits_disputed + take, dispute_id=dispute_id, dispute_status="open"
    )
    return settled, take


def after_dispute_closed(settlement: Settlement, dispute_id: str, *, won: bool) -> tuple[Settlement, int]:
    """A dispute won returns what its chargeback still holds; a lost one keeps it; one never seen
    open (already won when first heard of) moves nothing. Returns the credits to give back."""
    outcome = "won" if won else "lost"
    if settlement.dispute_id != dispute_id:
        return replace(settlement, dispute_id=dispute_id, dispute_status=outcome), 0
    if settlement.dispute_status != "open":
        return settlement, 0
    returned = settlement.credits_disputed if won else 0
    settled = replace(settlement, credits_disputed=settlement.credits_disputed - returned, dispute_status=outcome)
    return settled, returned


# -- the service ---------------------------------------------------------------------------------
class BillingService:
    """Credits bought and spent: checkout, fulfilment from every path, refunds and disputes, the
    ledger page, and lapsed holds (PAY-1, PAY-2, PAY-4)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        payments: PaymentRecords,
        provider: Callable[[], PaymentProvider],
        catalogue: Catalogue,
        public_base_url: str,
        accounts: AccountHolders,
    ) -> None:
        """`provider` is called on first use: reading the ledger needs no payment rail."""
        self._accounts = accounts
        self._ledger = ledger
        self._payments = payments
        self._connect = provider
        self._catalogue = catalogue
        self._base_url = public_base_url

    @property
    def _provider(self) -> PaymentProvider:
        return self._connect()

    # -- catalogue and checkout ----------------------------------------------------------------
    def products(self) -> list[dict]:
        return [product.public() for product in self._catalogue.products.values()]

    def tools(self, kinds: list[JobKind]) -> list[dict]:
        """What each job kind the service offers costs (PAY-2)."""
        return self._catalogue.tools(kinds)

    def start_checkout(self, user_id: str, product_id: str, attempt: str | None) -> dict:
        """Create a hosted Checkout Session and return its URL (PAY-1).

        With the caller's key (`attempt` or an Idempotency-Key header) the same key returns the
        same session whatever became of it, as Stripe replays a key's answer. Without one, a repeat
        reuses the buyer's session for this product only while Stripe still reports it open, so a
        retried request lands on it and a paid or expired session is never handed out again: the
        keys form a chain, the current hour first and then each finished session's id, which every
        retry walks to the same open session (`CHECKOUT_CHAIN_LIMIT` links an hour).
        """
        product = self._catalogue.get(product_id)
        if attempt:
            return self._create_session(user_id, product, f"attempt:{attempt}")
        link = f"hour:{clock.now():%Y%m%dT%H}"
        for _ in range(CHECKOUT_CHAIN_LIMIT):
            session = self._create_session(user_id, product, link)
            if self._provider.checkout_session(session["session_id"]).status == "open":
                return session
            link = f"after:{session['session_id']}"
        raise errors.RateLimited(
            "Too many checkouts of this product this hour; send an Idempotency-Key to start another.",
            retry_after=_seconds_to_next_hour(),
        )

    def _create_session(self, user_id: str, product: Product, link: str) -> dict:
        digest = hashlib.sha256(f"{user_id}|{product.id}|{link}".encode()).hexdigest()[:32]
        session_id, url = self._provider.create_checkout(
            CheckoutRequest(
                user_id=user_id,
                product_id=product.id,
                price_ref=product.price_id,
                mode=product.mode,
                success_url=f"{self._base_url}/billing/success",
                cancel_url=f"{self._base_url}/billing/cancelled",
                idempotency_key=f"checkout-{digest}",
            )
        )
        return {"session_id": session_id, "url": url, "product": product.id}

    def fulfill_checkout(self, session_id: str, *, failed: bool = False) -> dict:
        """Bring our records in line with the session as Stripe reports it now. Safe to call any
        number of times from any path: credits are granted once, and only when paid."""
        session = self._provider.checkout_session(session_id)
        user_id = session.user_id
        product = self._catalogue.by_price(session.price_ref)
        if not user_id or product is None:
            logger.warning("checkout session not from this service", extra={"session": session_id})
            return {"session_id": session_id, "status": "ignored", "granted": False}
        if not self._live(user_id):  # PAY-6: the buyer was erased meanwhile
            return {"session_id": session_id, "status": "ignored", "granted": False}
        payment = _session_payment(session, user_id, product)
        if session.paid:
            mismatch = price_mismatch(
                product, amount=session.amount, currency=session.currency, quantity=session.quantity
            )
            if mismatch:
                self._hold_for_review(payment, mismatch)
                return {"session_id": session_id, "status": "mismatch", "granted": False}
            if product.kind == "plan":
                self._payments.track_subscription(session.subscription_id or "", user_id, product.id, "active")
                self._payments.mark(payment, "subscribed")
                return {"session_id": session_id, "status": "paid", "granted": False}
            granted = self._fulfil(payment, f"purchase: {product.title}")
            return {"session_id": session_id, "status": "paid", "granted": granted}
        status = "expired" if session.status == "expired" else ("failed" if failed else "pending")
        if session.status in ("complete", "expired"):
            self._payments.mark(payment, status)
        shown = status if session.status != "open" else "open"
        return {"session_id": session_id, "status": shown, "granted": False}

    def fulfill_invoice(self, invoice_id: str) -> dict:
        """A paid subscription period grants the plan's credits once per invoice."""
        invoice = self._provider.invoice(invoice_id)
        reason = invoice.billing_reason
        if not invoice.paid or reason not in PERIOD_REASONS:
            return {"invoice_id": invoice_id, "granted": False}
        subscription_id = invoice.subscription_id
        subscription = self._provider.subscription(subscription_id) if subscription_id else None
        user_id = subscription.user_id if subscription else None
        product = self._catalogue.by_price(subscription.price_ref) if subscription else None
        if not user_id or product is None or subscription is None:
            logger.warning("invoice not from this service", extra={"invoice": invoice_id})
            return {"invoice_id": invoice_id, "granted": False}
        payment = Payment(
            stripe_id=invoice_id,
            user_id=user_id,
            kind="plan",
            product_id=product.id,
            mode="subscription",
            credits=product.credits,
            amount=invoice.amount,
            currency=invoice.currency,
            invoice_id=invoice_id,
            payment_intent_id=invoice.payment_ref,
            subscription_id=subscription_id,
            customer_id=invoice.customer_ref,
            billing_reason=reason,
        )
        mismatch = price_mismatch(
            product, amount=payment.amount, currency=payment.currency, quantity=subscription.quantity
        )
        if mismatch:
            self._hold_for_review(payment, mismatch)
            return {"invoice_id": invoice_id, "granted": False}
        return {"invoice_id": invoice_id, "granted": self._fulfil(payment, f"plan period: {product.title}")}

    def sync_subscription(self, subscription_id: str) -> dict:
        subscription = self._provider.subscription(subscription_id)
        user_id = subscription.user_id
        product = self._catalogue.by_price(subscription.price_ref)
        if not user_id or product is None:
            return {"subscription_id": subscription_id, "status": "ignored"}
        if not self._live(user_id):  # PAY-6: a late event must not write the erased person's id again
            return {"subscription_id": subscription_id, "status": "ignored"}
        self._payments.track_subscription(subscription_id, user_id, product.id, subscription.status)
        return {"subscription_id": subscription_id, "status": subscription.status}

    def reconcile_charge(self, charge_id: str) -> dict:
        """A refund (full or partial, in any order): the payment behind the charge is brought in line."""
        charge = self._provider.charge(charge_id)
        return {"charge_id": charge_id, **self._reconcile_intent(charge.payment_ref)}

    def reconcile_dispute(self, dispute_id: str) -> dict:
        """A chargeback opened or closed: the payment behind the disputed charge is brought in line."""
        dispute = self._provider.dispute(dispute_id)
        intent = dispute.payment_ref
        if intent is None and dispute.charge_id:
            intent = self._provider.charge(dispute.charge_id).payment_ref
        return {"dispute_id": dispute_id, **self._reconcile_intent(intent)}

    # -- webhook -------------------------------------------------------------------------------
    def handle_stripe_delivery(self, payload: bytes, signature_header: str | None) -> dict:
        """Verify a webhook delivery, then reconcile the object it names. Unknown types are
        acknowledged and ignored; unsigned, forged, stale or future-dated deliveries raise
        SignatureInvalid, and a signed body that is not an event InvalidInput."""
        try:
            event = self._provider.verify_event(payload, signature_header)
        except errors.SignatureInvalid:
            emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="forged")
            raise
        emit(Metric.WEBHOOK_DELIVERIES, sender="stripe", outcome="accepted")
        handler = self._handlers().get(event.type)
        if handler is None or not event.object_id:
            return {"received": True, "handled": False}
        result = handler(event.object_id)
        logger.info("stripe event handled", extra={"event_type": event.type, "event_id": event.id})
        return {"received": True, "handled": True, "result": result}

    def _handlers(self) -> dict[str, Callable[[str], dict]]:
        def checkout_failed(session_id: str) -> dict:
            return self.fulfill_checkout(session_id, failed=True)

        return {
            "checkout.session.completed": self.fulfill_checkout,
            "checkout.session.async_payment_succeeded": self.fulfill_checkout,
            "checkout.session.async_payment_failed": checkout_failed,
            "checkout.session.expired": self.fulfill_checkout,
            "invoice.paid": self.fulfill_invoice,
            "customer.subscription.updated": self.sync_subscription,
            "customer.subscription.deleted": self.sync_subscription,
            "charge.refunded": self.reconcile_charge,
            "charge.dispute.created": self.reconcile_dispute,
            "charge.dispute.closed": self.reconcile_dispute,
        }

    # -- the ledger ----------------------------------------------------------------------------
    def ledger_page(self, user_id: str, *, limit: int = 50, cursor: str | None = None) -> dict:
        """What a user sees of their credits (PAY-2): balance and movements, newest first. The first
        page's balance is the one its newest movement left (none: none yet, or all past retention,
        as the balance item then is), read in the same query: a movement landing between two reads
        cannot show credits the history beside them does not reach."""
        page = self._ledger.entries(user_id, limit=limit, cursor=cursor)
        if cursor is None:
            balance = page.entries[0].balance_after if page.entries else 0
        else:
            balance = self._ledger.balance(user_id)
        return {
            "balance": balance,
            "entries": [entry_view(entry) for entry in page.entries],
            "next_cursor": page.next_cursor,
        }

    def release_lapsed_hold(self, hold: Hold) -> bool:
        """A hold deleted by its TTL (its work's deadline and margin passed) while still held
        returns its credits, once; a settled one stays as it was (PAY-4)."""
        if hold.state is not HoldState.HELD:
            return False
        return self._ledger.restore_lapsed(hold)

    # -- refunds and chargebacks ---------------------------------------------------------------
    def settle_charge(self, stripe_id: str, payment_intent_id: str | None) -> dict:
        """Apply the refunds and disputes Stripe reports now for a paid payment's charge, always in
        the same order (refunds, then disputes oldest first). Whichever event arrives first
        therefore leaves the state every other order would: the later ones find each step claimed
        (PAY-4)."""
        moved = {"taken": 0, "returned": 0}
        charge_id = self._provider.latest_charge(payment_intent_id) if payment_intent_id else None
        if not charge_id:
            return moved
        refunded = self._provider.charge(charge_id).amount_refunded
        moved["taken"] += self._settle(
            stripe_id,
            CreditMovement(f"stripe:refund:{charge_id}:{refunded}", "refund", 0, _refs(stripe_id, refunded=refunded)),
            lambda s: after_refund(s, refunded),
        )
        disputes = sorted(self._provider.disputes_for_charge(charge_id), key=lambda d: (d.created, d.dispute_id))
        for dispute in disputes:
            dispute_id, status = dispute.dispute_id, dispute.status
            if status in DISPUTE_RETURNED:
                moved["returned"] += self._close_dispute(stripe_id, dispute_id, won=True)
                continue
            moved["taken"] += self._settle(
                stripe_id,
                CreditMovement(
                    f"stripe:dispute:{dispute_id}:opened", "payment disputed", 0, _refs(stripe_id, dispute=dispute_id)
                ),
                lambda s, d=dispute_id: after_dispute_opened(s, d),
            )
            if status == "lost":
                self._close_dispute(stripe_id, dispute_id, won=False)
        return moved

    def _close_dispute(self, stripe_id: str, dispute_id: str, *, won: bool) -> int:
        outcome = "won" if won else "lost"
        movement = CreditMovement(
            f"stripe:dispute:{dispute_id}:{outcome}", "dispute won", 0, _refs(stripe_id, dispute=dispute_id), True
        )
        return self._settle(stripe_id, movement, lambda s: after_dispute_closed(s, dispute_id, won=won))

    def _settle(
        self, stripe_id: str, movement: CreditMovement, step: Callable[[Settlement], tuple[Settlement, int]]
    ) -> int:
        return settle_step(self._payments, stripe_id, movement, step)

    # -- helpers -------------------------------------------------------------------------------
    def _fulfil(self, payment: Payment, reason: str) -> bool:
        """Grant a paid payment's credits once, then apply what its charge reports now. An erased
        person gets nothing (PAY-6): a late `invoice.paid` must not bring a balance back under their id."""
        if not self._live(payment.user_id):
            logger.warning("payment for an account that no longer exists", extra={"payment": payment.stripe_id})
            return False
        grant = CreditMovement(
            f"stripe:payment:{payment.stripe_id}",
            reason,
            payment.credits,
            as_details({"product": payment.product_id, "payment": payment.stripe_id}),
        )
        granted = self._payments.fulfil(payment, grant)
        if granted:
            emit(Metric.CREDITS_SOLD, payment.credits)
        self.settle_charge(payment.stripe_id, payment.payment_intent_id)
        return granted

    def _live(self, user_id: str) -> bool:
        """Whether the account still exists: nothing is granted or tracked for an erased one (PAY-6)."""
        return self._accounts.get_user(user_id, consistent=True) is not None

    def _reconcile_intent(self, intent: str | None) -> dict:
        """Bring the payment behind a payment intent in line with Stripe. A refund or dispute that
        overtakes its checkout or invoice event fulfils that payment first (which settles the
        charge), so the claw-back has something to take back."""
        if not intent:
            return {"taken": 0, "returned": 0}
        stored = self._payments.payment_for_intent(intent)
        if stored is not None:
            return self.settle_charge(stored.payment.stripe_id, intent)
        sessions = [self.fulfill_checkout(session) for session in self._provider.checkout_sessions_for_payment(intent)]
        invoices = [self.fulfill_invoice(invoice_id) for invoice_id in self._provider.invoices_for_payment(intent)]
        return {"fulfilled_first": sessions + invoices}

    def _hold_for_review(self, payment: Payment, mismatch: dict) -> None:
        """A payment that does not match its catalogue price grants nothing and waits for an
        operator; the log line names the product and the figures, never the buyer."""
        if self._payments.mark(payment, "mismatch", mismatch=mismatch):
            logger.warning(
                "payment does not match the catalogue price; held for review",
                extra={"product": payment.product_id, "kind": payment.kind, "mismatch": mismatch},
            )


def settle_step(
    payments: PaymentRecords,
    payment_id: str,
    movement: CreditMovement,
    step: Callable[[Settlement], tuple[Settlement, int]],
) -> int:
    """Apply one settlement step to a paid payment, on any rail; the payment record and the credits
    the step moves change together under the movement's claim key, once (PAY-4). Returns the
    credits moved."""
    for _ in range(SETTLE_RETRIES):
        stored = payments.payment(payment_id)
        if stored is None or stored.status != "paid":
            return 0
        settled, credits = step(stored.settlement)
        if settled == stored.settlement:
            return 0
        applied = replace(movement, credits=credits) if credits else None
        moved = payments.settle(payment_id, stored.settlement, settled, applied)
        if moved is not None:
            return moved
    raise errors.Conflict("The payment is being updated concurrently; please retry.")


def payments_for_review(operator: str, *, payments: PaymentRecords, audit: Any) -> list[dict]:
    """Payments held because they did not match the catalogue, oldest first (read by operators;
    audited like every operator action)."""
    audit(operator, "view_payment_reviews", clock.now(), None, {})
    return [
        {**payment_view(held), "mismatch": json.loads(held.mismatch or "{}")} for held in payments.held_for_review()
    ]


# -- views ---------------------------------------------------------------------------------------
def payment_view(stored: StoredPayment) -> dict:
    """A payment record as operators and tests read it (PAY-1: no card data exists to show)."""
    payment, settlement = stored.payment, stored.settlement
    return {
        "payment": payment.stripe_id,
        "user_id": payment.user_id,
        "kind": payment.kind,
        "product": payment.product_id,
        "status": stored.status,
        "credits": payment.credits,
        "amount": payment.amount,
        "currency": payment.currency,
        "refunded_amount": settlement.refunded_amount,
        "credits_refunded": settlement.credits_refunded,
        "dispute_status": settlement.dispute_status,
        "payment_intent": payment.payment_intent_id,
        "created_at": stored.created_at.isoformat(),
        "paid_at": stored.paid_at.isoformat() if stored.paid_at else None,
    }


def entry_view(entry: LedgerEntry) -> dict:
    """One ledger movement as the user sees it (PAY-2)."""
    view = {
        "sequence": entry.sequence,
        "balance_after": entry.balance_after,
        "at": entry.at.isoformat(),
        "kind": entry.kind,
        "amount": entry.amount,
        "reason": entry.reason,
        "reference": entry.reference,
        "details": dict(entry.details),
    }
    if entry.shortfall:
        view["shortfall"] = entry.shortfall
    return view


def _seconds_to_next_hour() -> int:
    now = clock.now()
    return 3600 - now.minute * 60 - now.second


def _refs(stripe_id: str, **more: Any) -> tuple[tuple[str, Any], ...]:
    return as_details({"payment": stripe_id, **more})


def _session_payment(session: CheckoutState, user_id: str, product: Product):
    return Payment(
        stripe_id=session.checkout_id,
        user_id=user_id,
        kind=product.kind,
        product_id=product.id,
        mode=session.mode or product.mode,
        credits=product.credits if product.kind == "pack" else 0,
        amount=session.amount,
        currency=session.currency,
        session_id=session.checkout_id,
        payment_intent_id=session.payment_ref,
        subscription_id=session.subscription_id,
        customer_id=session.customer_ref,
    )
