"""Buying credits on the rails a profile names besides Stripe: Polar, Lemon Squeezy, Telegram Stars
(PAY-1, PAY-2, PAY-4, PAY-5, PAY-6), through the rail-neutral payments port
(chalicelib/domain/ports/payments.py).

Rules, the same as on Stripe (chalicelib/domain/billing.py):
- A delivery is verified by its rail before anything is read; the order or subscription it names
  is re-fetched, so duplicates and any delivery order reach the state the rail reports now.
- An order grants its product's credits once, keyed by rail and order id, in the same transaction
  as its payment record; a plan's first order only records the subscription, its periods grant.
- An order that does not match its offer's price (one unit, the amount, the currency) grants
  nothing and waits for an operator.
- Refunds follow the amount refunded so far, in proportion, and stop at a zero balance.
- Only the rails the profile's processors name are enabled; any other rail is refused (PAY-5).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace

from chalicelib import clock, errors
from chalicelib.domain.billing import after_refund, price_mismatch, settle_step
from chalicelib.domain.catalogue import Catalogue, Product
from chalicelib.domain.ports.billing import Payment, PaymentRecords
from chalicelib.domain.ports.ledger import CreditMovement, as_details
from chalicelib.domain.ports.payments import (
    CheckoutOrder,
    EventKind,
    PaymentRail,
    ProcessorAck,
    RailEvent,
    RailOrder,
)
from chalicelib.metrics import Metric, emit
from chalicelib.observability import logger


class RailBilling:
    """Checkout, verified deliveries, fulfilment and refunds on every enabled rail but Stripe's own
    dispute-aware flow (BillingService)."""

    def __init__(
        self,
        *,
        payments: PaymentRecords,
        rails: Mapping[str, Callable[[], PaymentRail]],
        catalogue: Catalogue,
        public_base_url: str,
    ) -> None:
        """`rails` maps each enabled rail to a factory called on first use (secrets are read then)."""
        self._payments = payments
        self._factories = dict(rails)
        self._connected: dict[str, PaymentRail] = {}
        self._catalogue = catalogue
        self._base_url = public_base_url

    def rail(self, name: str) -> PaymentRail:
        """The adapter of an enabled rail; NotFound for any rail the profile does not name (PAY-5)."""
        if name not in self._factories:
            raise errors.NotFound("This service takes no payments through that processor.")
        if name not in self._connected:
            self._connected[name] = self._factories[name]()
        return self._connected[name]

    # -- checkout ------------------------------------------------------------------------------
    def start_checkout(
        self, rail_name: str, user_id: str, product_id: str, attempt: str | None, *, chat_id: str | None = None
    ) -> dict:
        rail = self.rail(rail_name)
        product = self._catalogue.get(product_id)
        offer = product.offer(rail_name)
        if offer is None:
            raise errors.NotFound("This pack or plan is not sold through that processor.")
        attempt = attempt or clock.now().strftime("%Y%m%dT%H")
        digest = hashlib.sha256(f"{rail_name}|{user_id}|{product.id}|{attempt}".encode()).hexdigest()[:32]
        link = rail.create_checkout(
            CheckoutOrder(
                user_id=user_id,
                product_id=product.id,
                offer_ref=offer.ref,
                kind=product.kind,
                title=product.title,
                amount=offer.amount,
                currency=offer.currency,
                success_url=f"{self._base_url}/billing/success?rail={rail_name}",
                idempotency_key=f"checkout-{digest}",
                chat_id=chat_id,
            )
        )
        return {"rail": rail_name, "checkout_id": link.checkout_id, "url": link.url, "product": product.id}

    # -- deliveries ----------------------------------------------------------------------------
    def handle_delivery(self, rail_name: str, body: bytes, headers: Mapping[str, str]) -> dict:
        """Verify a delivery, then bring our records in line with what it names. Forged, unsigned or
        stale deliveries raise SignatureInvalid before anything is read."""
        rail = self.rail(rail_name)
        try:
            event = rail.parse_delivery(body, headers)
        except errors.SignatureInvalid:
            emit(Metric.WEBHOOK_DELIVERIES, sender=rail_name, outcome="forged")
            raise
        emit(Metric.WEBHOOK_DELIVERIES, sender=rail_name, outcome="accepted")
        if event.kind is EventKind.PRE_CHECKOUT:
            return {"received": True, "handled": True, "result": self._answer_pre_checkout(rail, event)}
        if event.kind is EventKind.IGNORED or not event.object_id:
            return {"received": True, "handled": False}
        if event.kind is EventKind.ORDER:
            result = self.fulfil_order(rail_name, event.object_id, user_hint=event.user_id)
        else:
            result = self.sync_subscription(rail_name, event.object_id, user_hint=event.user_id)
        logger.info("payment delivery handled", extra={"rail": rail_name, "kind": str(event.kind)})
        return {"received": True, "handled": True, "result": result}

    def _answer_pre_checkout(self, rail: PaymentRail, event: RailEvent) -> dict:
        """Telegram asks before it takes Stars: yes only for a product we sell at exactly that
        price, to a buyer the invoice names."""
        found = self._catalogue.by_offer(rail.rail, event.offer_ref)
        ok = bool(event.user_id) and found is not None
        if ok and found is not None:
            offer = found[1]
            ok = (event.amount, (event.currency or "").upper()) == (offer.amount, offer.currency.upper())
        rail.answer_pre_checkout(event, ok, None if ok else "This offer is no longer available.")
        return {"pre_checkout": "accepted" if ok else "declined"}

    # -- fulfilment ----------------------------------------------------------------------------
    def fulfil_order(self, rail_name: str, order_id: str, *, user_hint: str | None = None) -> dict:
        """Grant a paid order's credits once and apply its refunds; safe to call any number of times
        in any order (PAY-4)."""
        rail = self.rail(rail_name)
        order = rail.order(order_id)
        user_id = order.user_id or user_hint
        found = self._catalogue.by_offer(rail_name, order.offer_ref)
        if not user_id or found is None:
            logger.warning("order not from this service", extra={"rail": rail_name})
            return {"order_id": order_id, "status": "ignored", "granted": False}
        product, offer = found
        payment = _payment(rail_name, order, user_id, product)
        if order.status != "paid":
            if order.status == "failed":
                self._payments.mark(payment, "failed")
            return {"order_id": order_id, "status": order.status, "granted": False}
        mismatch = price_mismatch(
            replace(product, amount=offer.amount, currency=offer.currency.lower()),
            amount=order.amount,
            currency=order.currency,
            quantity=order.quantity,
        )
        if mismatch:
            if self._payments.mark(payment, "mismatch", mismatch=mismatch):
                logger.warning("order does not match its offer; held for review", extra={"rail": rail_name})
            return {"order_id": order_id, "status": "mismatch", "granted": False}
        if product.kind == "plan" and not order.period:
            if order.subscription_id:
                self._payments.track_subscription(order.subscription_id, user_id, product.id, "active")
            self._payments.mark(payment, "subscribed")
            return {"order_id": order_id, "status": "subscribed", "granted": False}
        reason = f"{'plan period' if order.period else 'purchase'}: {product.title}"
        grant = CreditMovement(
            f"{payment.stripe_id}:payment", reason, product.credits, _refs(payment.stripe_id, product=product.id)
        )
        granted = self._payments.fulfil(payment, grant)
        if granted:
            emit(Metric.CREDITS_SOLD, product.credits)
        taken = self._settle_refunds(payment.stripe_id, order)
        return {"order_id": order_id, "status": "paid", "granted": granted, "taken": taken}

    def _settle_refunds(self, payment_id: str, order: RailOrder) -> int:
        refunded = order.refunded_amount
        if refunded <= 0:
            return 0
        movement = CreditMovement(f"{payment_id}:refund:{refunded}", "refund", 0, _refs(payment_id, refunded=refunded))
        return settle_step(self._payments, payment_id, movement, lambda s: after_refund(s, refunded))

    def sync_subscription(self, rail_name: str, subscription_id: str, *, user_hint: str | None = None) -> dict:
        subscription = self.rail(rail_name).subscription(subscription_id)
        user_id = subscription.user_id or user_hint
        found = self._catalogue.by_offer(rail_name, subscription.offer_ref)
        if not user_id or found is None:
            return {"subscription_id": subscription_id, "status": "ignored"}
        self._payments.track_subscription(subscription_id, user_id, found[0].id, subscription.status)
        return {"subscription_id": subscription_id, "status": subscription.status}

    def end_billing(self, rail_name: str, customer_ref: str) -> list[ProcessorAck]:
        """Erasure on one rail: the customer's subscriptions cancelled, then the customer deleted
        (or redacted where the rail deletes none); the acks go on the erasure receipt (PAY-6)."""
        rail = self.rail(rail_name)
        return [rail.cancel_subscriptions(customer_ref), rail.delete_customer(customer_ref)]

    def refund(self, rail_name: str, order_id: str, amount: int | None = None) -> ProcessorAck:
        """Ask the rail to refund an order; the credits follow when the rail reports it (PAY-4)."""
        rail = self.rail(rail_name)
        return rail.refund(rail.order(order_id), amount)


def payment_id(rail_name: str, order_id: str) -> str:
    """The payment record's key: the rail and its order id (orders of two rails never collide)."""
    return f"{rail_name}:{order_id}"


def _payment(rail_name: str, order: RailOrder, user_id: str, product: Product) -> Payment:
    return Payment(
        stripe_id=payment_id(rail_name, order.order_id),
        user_id=user_id,
        kind=product.kind,
        product_id=product.id,
        mode="subscription" if product.kind == "plan" else "payment",
        credits=product.credits if (product.kind == "pack" or order.period) else 0,
        amount=order.amount,
        currency=order.currency,
        subscription_id=order.subscription_id,
        customer_id=order.customer_ref,
        billing_reason="period" if order.period else None,
    )


def _refs(payment_id_: str, **more) -> tuple:
    return as_details({"payment": payment_id_, **more})
