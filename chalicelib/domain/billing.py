"""Buying credits through Stripe Checkout: the catalogue, checkout, and fulfilment from every path.

Rules (PAY-1, PAY-4):
- Fulfilment is one function per business object (session, invoice, charge, dispute), called from
  the webhook and, for sessions, from the success redirect too. Each re-fetches its object from
  Stripe, so events may arrive duplicated or in any order: the current state decides.
- Credits are granted only for `payment_status == "paid"` at the catalogue's price (one unit, its
  amount, its currency; anything else is held for an operator), once per session or invoice (the
  ledger claim is written in the same transaction as the credits and the payment record).
- Every event about a paid payment (checkout, invoice, refund, dispute) ends in `settle_charge`,
  which applies what Stripe reports now in one fixed order, so any delivery order of any events
  reaches the same final state.
- Refunds and chargebacks take credits back in proportion (`Settlement`, pure); credits already
  spent cannot be taken back, so the balance stops at zero and the shortfall is recorded for the
  operator (`unrecovered` on the balance, `shortfall` on the entry) rather than driving the
  balance negative.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chalicelib import clock, errors
from chalicelib.observability import logger

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "billing_catalogue.toml"
PERIOD_REASONS = ("subscription_create", "subscription_cycle")
DISPUTE_RETURNED = ("won", "warning_closed")


@dataclass(frozen=True)
class Product:
    id: str
    kind: str  # pack | plan
    title: str
    credits: int  # per purchase (pack) or per billing period (plan)
    amount: int  # minor units
    currency: str
    price_id: str
    interval: str | None = None

    @property
    def mode(self) -> str:
        return "payment" if self.kind == "pack" else "subscription"

    def public(self) -> dict:
        view = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "credits": self.credits,
            "amount": self.amount,
            "currency": self.currency,
        }
        if self.interval:
            view["interval"] = self.interval
        return view


@dataclass(frozen=True)
class Catalogue:
    products: dict[str, Product]

    def get(self, product_id: str) -> Product:
        try:
            return self.products[product_id]
        except KeyError:
            raise errors.NotFound("No such pack or plan.") from None

    def by_price(self, price_id: str | None) -> Product | None:
        return next((p for p in self.products.values() if p.price_id == price_id), None)


def load_catalogue(stage: str, path: Path = CATALOGUE_FILE) -> Catalogue:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    products: dict[str, Product] = {}
    for kind, section, credits_field in (("pack", "packs", "credits"), ("plan", "plans", "credits_per_period")):
        for product_id, spec in data.get(section, {}).items():
            price_id = spec["price_ids"].get(stage)
            if price_id is None:
                continue  # not sold in this stage
            products[product_id] = Product(
                id=product_id,
                kind=kind,
                title=spec["title"],
                credits=int(spec[credits_field]),
                amount=int(spec["amount"]),
                currency=spec["currency"],
                price_id=price_id,
                interval=spec.get("interval"),
            )
    return Catalogue(products)


@dataclass(frozen=True)
class WebhookEvent:
    """The envelope of a verified Stripe delivery: the object it names is re-fetched, never trusted."""

    id: str
    type: str
    object_id: str | None


@dataclass(frozen=True)
class Payment:
    """The facts kept about one payment: no card data exists in it by construction (PAY-1)."""

    stripe_id: str  # checkout session id (packs) or invoice id (plan periods)
    user_id: str
    kind: str  # pack | plan
    product_id: str
    mode: str  # payment | subscription
    credits: int
    amount: int | None
    currency: str | None
    session_id: str | None = None
    invoice_id: str | None = None
    payment_intent_id: str | None = None
    subscription_id: str | None = None
    customer_id: str | None = None
    billing_reason: str | None = None


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


# -- checkout ------------------------------------------------------------------------------------
def start_checkout(
    user_id: str, product_id: str, attempt: str | None, *, catalogue: Catalogue, stripe: Any, base_url: str
) -> dict:
    """Create a hosted Checkout Session and return its URL.

    The idempotency key is derived from the user, the product and the caller's attempt id (or the
    current hour), so a double click or a retried request returns the same session.
    """
    product = catalogue.get(product_id)
    attempt = attempt or clock.now().strftime("%Y%m%dT%H")
    digest = hashlib.sha256(f"{user_id}|{product.id}|{attempt}".encode()).hexdigest()[:32]
    params: dict[str, Any] = {
        "mode": product.mode,
        "line_items": [{"price": product.price_id, "quantity": 1}],
        "client_reference_id": user_id,
        "success_url": f"{base_url}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base_url}/billing/cancelled",
    }
    if product.kind == "plan":
        # Invoices reach us without the session; the subscription carries its owner.
        params["subscription_data"] = {"metadata": {"user_id": user_id, "plan": product.id}}
    session = stripe.create_checkout_session(params, idempotency_key=f"checkout-{digest}")
    return {"session_id": session["id"], "url": session["url"], "product": product.id}


def fulfill_checkout(
    session_id: str, *, stripe: Any, payments: Any, catalogue: Catalogue, failed: bool = False
) -> dict:
    """Bring our records in line with the session as Stripe reports it now. Safe to call any
    number of times from any path: credits are granted once, and only when paid."""
    session = stripe.checkout_session(session_id)
    user_id = session.get("client_reference_id")
    product = catalogue.by_price(_first_price(session))
    if not user_id or product is None:
        logger.warning("checkout session not from this service", extra={"session": session_id})
        return {"session_id": session_id, "status": "ignored", "granted": False}
    payment = _session_payment(session, user_id, product)
    if session.get("payment_status") == "paid":
        mismatch = price_mismatch(
            product,
            amount=session.get("amount_total"),
            currency=session.get("currency"),
            quantity=_units(session, "line_items"),
        )
        if mismatch:
            _hold_for_review(payment, mismatch, payments)
            return {"session_id": session_id, "status": "mismatch", "granted": False}
        if product.kind == "plan":
            payments.track_subscription(session.get("subscription") or "", user_id, product.id, "active")
            payments.mark(payment, "subscribed")
            return {"session_id": session_id, "status": "paid", "granted": False}
        granted = payments.fulfil(payment, reason=f"purchase: {product.title}")
        settle_charge(payment.stripe_id, payment.payment_intent_id, stripe=stripe, payments=payments)
        return {"session_id": session_id, "status": "paid", "granted": granted}
    status = "expired" if session.get("status") == "expired" else ("failed" if failed else "pending")
    if session.get("status") in ("complete", "expired"):
        payments.mark(payment, status)
    return {"session_id": session_id, "status": status if session.get("status") != "open" else "open", "granted": False}


def fulfill_invoice(invoice_id: str, *, stripe: Any, payments: Any, catalogue: Catalogue) -> dict:
    """A paid subscription period grants the plan's credits once per invoice."""
    invoice = stripe.invoice(invoice_id)
    reason = invoice.get("billing_reason")
    if invoice.get("status") != "paid" or reason not in PERIOD_REASONS:
        return {"invoice_id": invoice_id, "granted": False}
    subscription_id = _invoice_subscription(invoice)
    subscription = stripe.subscription(subscription_id) if subscription_id else {}
    user_id = (subscription.get("metadata") or {}).get("user_id")
    product = catalogue.by_price(_subscription_price(subscription))
    if not user_id or product is None:
        logger.warning("invoice not from this service", extra={"invoice": invoice_id})
        return {"invoice_id": invoice_id, "granted": False}
    payment = Payment(
        stripe_id=invoice_id,
        user_id=user_id,
        kind="plan",
        product_id=product.id,
        mode="subscription",
        credits=product.credits,
        amount=invoice.get("amount_paid"),
        currency=invoice.get("currency"),
        invoice_id=invoice_id,
        payment_intent_id=_invoice_payment_intent(invoice),
        subscription_id=subscription_id,
        customer_id=invoice.get("customer"),
        billing_reason=reason,
    )
    mismatch = price_mismatch(
        product, amount=payment.amount, currency=payment.currency, quantity=_units(subscription, "items")
    )
    if mismatch:
        _hold_for_review(payment, mismatch, payments)
        return {"invoice_id": invoice_id, "granted": False}
    granted = payments.fulfil(payment, reason=f"plan period: {product.title}")
    settle_charge(payment.stripe_id, payment.payment_intent_id, stripe=stripe, payments=payments)
    return {"invoice_id": invoice_id, "granted": granted}


def sync_subscription(subscription_id: str, *, stripe: Any, payments: Any, catalogue: Catalogue) -> dict:
    subscription = stripe.subscription(subscription_id)
    user_id = (subscription.get("metadata") or {}).get("user_id")
    product = catalogue.by_price(_subscription_price(subscription))
    if not user_id or product is None:
        return {"subscription_id": subscription_id, "status": "ignored"}
    payments.track_subscription(subscription_id, user_id, product.id, subscription.get("status", "unknown"))
    return {"subscription_id": subscription_id, "status": subscription.get("status")}


def reconcile_charge(charge_id: str, *, stripe: Any, payments: Any, catalogue: Catalogue) -> dict:
    """A refund (full or partial, in any order): the payment behind the charge is brought in line."""
    charge = stripe.charge(charge_id)
    return {"charge_id": charge_id, **_reconcile_intent(charge.get("payment_intent"), stripe, payments, catalogue)}


def reconcile_dispute(dispute_id: str, *, stripe: Any, payments: Any, catalogue: Catalogue) -> dict:
    """A chargeback opened or closed: the payment behind the disputed charge is brought in line."""
    dispute = stripe.dispute(dispute_id)
    intent = dispute.get("payment_intent") or stripe.charge(dispute["charge"]).get("payment_intent")
    return {"dispute_id": dispute_id, **_reconcile_intent(intent, stripe, payments, catalogue)}


# -- refunds and chargebacks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Settlement:
    """Where a paid payment's credits stand: granted, taken back for refunds, held back by a
    standing chargeback, and the charge's latest dispute. Each step below is pure and returns the
    new settlement with the credits it moves; the store applies it with its ledger claim."""

    credits: int
    amount: int | None  # minor units paid
    refunded_amount: int = 0
    credits_refunded: int = 0
    credits_disputed: int = 0
    dispute_id: str | None = None
    dispute_status: str | None = None  # open | won | lost

    @property
    def standing(self) -> int:
        """Credits the payment still stands for on the balance."""
        return max(self.credits - self.credits_refunded - self.credits_disputed, 0)


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


def settle_charge(stripe_id: str, payment_intent_id: str | None, *, stripe: Any, payments: Any) -> dict:
    """Apply the refunds and disputes Stripe reports now for a paid payment's charge, always in the
    same order (refunds, then disputes oldest first). Whichever event arrives first therefore
    leaves the state every other order would: the later ones find each step claimed (PAY-4)."""
    moved = {"taken": 0, "returned": 0}
    charge_id = stripe.payment_intent(payment_intent_id).get("latest_charge") if payment_intent_id else None
    if not charge_id:
        return moved
    charge = stripe.charge(charge_id)
    moved["taken"] += payments.refund(stripe_id, charge_id, int(charge.get("amount_refunded") or 0))
    disputes = sorted(stripe.disputes_for_charge(charge_id), key=lambda d: (d.get("created") or 0, d["id"]))
    for dispute in disputes:
        status = dispute.get("status")
        if status in DISPUTE_RETURNED:
            moved["returned"] += payments.close_dispute(stripe_id, dispute["id"], won=True)
            continue
        moved["taken"] += payments.open_dispute(stripe_id, dispute["id"])
        if status == "lost":
            payments.close_dispute(stripe_id, dispute["id"], won=False)
    return moved


# -- webhook -------------------------------------------------------------------------------------
def handle_stripe_delivery(
    payload: bytes, signature_header: str | None, *, stripe: Any, payments: Any, catalogue: Catalogue
) -> dict:
    """Verify a webhook delivery, then reconcile the object it names. Unknown types are
    acknowledged and ignored; unsigned, forged, stale or future-dated deliveries raise
    SignatureInvalid, and a signed body that is not an event InvalidInput."""
    event = stripe.verify_event(payload, signature_header)
    event_type, object_id = event.type, event.object_id
    handler = _HANDLERS.get(event_type)
    if handler is None or not object_id:
        return {"received": True, "handled": False}
    deps = {"stripe": stripe, "payments": payments, "catalogue": catalogue}
    if event_type == "checkout.session.async_payment_failed":
        result = fulfill_checkout(object_id, failed=True, **deps)
    else:
        result = handler(object_id, **deps)
    logger.info("stripe event handled", extra={"event_type": event_type, "event_id": event.id})
    return {"received": True, "handled": True, "result": result}


_HANDLERS = {
    "checkout.session.completed": fulfill_checkout,
    "checkout.session.async_payment_succeeded": fulfill_checkout,
    "checkout.session.async_payment_failed": fulfill_checkout,
    "checkout.session.expired": fulfill_checkout,
    "invoice.paid": fulfill_invoice,
    "customer.subscription.updated": sync_subscription,
    "customer.subscription.deleted": sync_subscription,
    "charge.refunded": reconcile_charge,
    "charge.dispute.created": reconcile_dispute,
    "charge.dispute.closed": reconcile_dispute,
}


# -- reading Stripe objects ----------------------------------------------------------------------
def _reconcile_intent(intent: str | None, stripe: Any, payments: Any, catalogue: Catalogue) -> dict:
    """Bring the payment behind a payment intent in line with Stripe. A refund or dispute that
    overtakes its checkout or invoice event fulfils that payment first (which settles the charge),
    so the claw-back has something to take back."""
    if not intent:
        return {"taken": 0, "returned": 0}
    payment = payments.payment_for_intent(intent)
    if payment is not None:
        return settle_charge(payment["payment"], intent, stripe=stripe, payments=payments)
    deps = {"stripe": stripe, "payments": payments, "catalogue": catalogue}
    sessions = [fulfill_checkout(s["id"], **deps) for s in stripe.checkout_sessions_for_payment_intent(intent)]
    invoices = [fulfill_invoice(invoice_id, **deps) for invoice_id in stripe.invoices_for_payment_intent(intent)]
    return {"fulfilled_first": sessions + invoices}


def _hold_for_review(payment: Payment, mismatch: dict, payments: Any) -> None:
    """A payment that does not match its catalogue price grants nothing and waits for an operator;
    the log line names the product and the figures, never the buyer."""
    if payments.hold_for_review(payment, mismatch):
        logger.warning(
            "payment does not match the catalogue price; held for review",
            extra={"product": payment.product_id, "kind": payment.kind, "mismatch": mismatch},
        )


def payments_for_review(operator: str, *, payments: Any, audit: Any) -> list[dict]:
    """Payments held because they did not match the catalogue, oldest first (read by operators;
    audited like every operator action)."""
    audit(operator, "view_payment_reviews", clock.now(), None, {})
    return payments.held_for_review()


def _session_payment(session: dict, user_id: str, product: Product):
    return Payment(
        stripe_id=session["id"],
        user_id=user_id,
        kind=product.kind,
        product_id=product.id,
        mode=session.get("mode") or product.mode,
        credits=product.credits if product.kind == "pack" else 0,
        amount=session.get("amount_total"),
        currency=session.get("currency"),
        session_id=session["id"],
        payment_intent_id=session.get("payment_intent"),
        subscription_id=session.get("subscription"),
        customer_id=session.get("customer"),
    )


def _first_price(session: dict) -> str | None:
    items = ((session.get("line_items") or {}).get("data")) or []
    price = (items[0].get("price") or {}) if items else {}
    return price.get("id") if isinstance(price, dict) else price


def _units(obj: dict, items_field: str) -> int | None:
    """Units bought across a session's line items or a subscription's items (None if unreadable)."""
    quantities = [item.get("quantity") for item in ((obj.get(items_field) or {}).get("data")) or []]
    return sum(quantities) if quantities and all(isinstance(q, int) for q in quantities) else None


def _subscription_price(subscription: dict) -> str | None:
    items = ((subscription.get("items") or {}).get("data")) or []
    return ((items[0].get("price") or {}).get("id")) if items else None


def _invoice_subscription(invoice: dict) -> str | None:
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return details.get("subscription") or invoice.get("subscription")


def _invoice_payment_intent(invoice: dict) -> str | None:
    for entry in ((invoice.get("payments") or {}).get("data")) or []:
        intent = (entry.get("payment") or {}).get("payment_intent")
        if intent:
            return intent
    return invoice.get("payment_intent")
