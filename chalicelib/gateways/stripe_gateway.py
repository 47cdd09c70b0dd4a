"""Stripe, through its SDK: the PaymentProvider port (chalicelib/domain/ports/billing.py) for
Checkout Sessions, re-fetching the objects events name, and webhook signature verification.
Stripe's JSON is mapped here to the port's neutral dataclasses (CheckoutState, InvoiceState, ...),
so the domain reads no Stripe field names; the mapping functions below are the one place that does.
Erasure cancels the customer's subscriptions and deletes the customer (PAY-6):
DELETE /v1/subscriptions/{id}, DELETE /v1/customers/{id}.

A delivery is verified by the SDK (HMAC, and timestamps too old), refused when signed more than the
tolerance in the future too, and only then parsed, by a pydantic model of the event envelope: a
signed body that is not an event is a 400, never a 500 that Stripe would retry for days (PAY-4).

Locally `api_base` points the same client at the embedded emulator; the code path is the same.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from chalicelib import clock, errors
from chalicelib.domain.ports.billing import (
    ChargeState,
    CheckoutRequest,
    CheckoutState,
    DisputeState,
    InvoiceState,
    ProviderEvent,
    SubscriptionState,
)
from chalicelib.domain.ports.processors import ProcessorAck

WEBHOOK_TOLERANCE_SECONDS = 300  # either side of now, as for fal.ai's webhooks
PROCESSOR = "Stripe"  # as the policy profiles list it
ENDED = ("canceled", "incomplete_expired")


class _EventObject(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: StrictStr | None = Field(default=None, min_length=1, max_length=255)  # balance events have none


class _EventData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    object: _EventObject


class _EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: StrictStr = Field(min_length=1, max_length=255)
    type: StrictStr = Field(min_length=1, max_length=255)
    data: _EventData


class StripeGateway:
    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        import stripe

        self._stripe = stripe
        base = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=2)
        self._webhook_secret = webhook_secret

    # -- webhooks ------------------------------------------------------------------------------
    def verify_event(self, payload: bytes, signature_header: str | None) -> ProviderEvent:
        """The event in a signed delivery. SignatureInvalid when unsigned, forged, stale or signed in
        the future; InvalidInput when the signed body is not a Stripe event."""
        try:
            self._stripe.WebhookSignature.verify_header(
                payload, signature_header, self._webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except (self._stripe.SignatureVerificationError, ValueError) as exc:
            raise errors.SignatureInvalid("The webhook signature is invalid.") from exc
        if _signed_at(signature_header or "") > clock.now().timestamp() + WEBHOOK_TOLERANCE_SECONDS:
            raise errors.SignatureInvalid("The webhook signature is invalid.")
        try:
            envelope = _EventEnvelope.model_validate_json(payload)
        except ValidationError as exc:
            raise errors.InvalidInput("The webhook body is not a Stripe event.") from exc
        return ProviderEvent(id=envelope.id, type=envelope.type, object_id=envelope.data.object.id)

    # -- checkout ------------------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> tuple[str, str]:
        """A hosted Checkout Session for one unit of the price; returns (session id, its URL)."""
        params: dict[str, Any] = {
            "mode": request.mode,
            "line_items": [{"price": request.price_ref, "quantity": 1}],
            "client_reference_id": request.user_id,
            "success_url": f"{request.success_url}?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": request.cancel_url,
        }
        if request.mode == "subscription":
            # Invoices reach us without the session; the subscription carries its owner.
            params["subscription_data"] = {"metadata": {"user_id": request.user_id, "plan": request.product_id}}
        session = self._call(
            self._client.v1.checkout.sessions.create, params, options={"idempotency_key": request.idempotency_key}
        )
        return session["id"], session["url"]

    def checkout_session(self, session_id: str) -> CheckoutState:
        return checkout_state(
            self._call(self._client.v1.checkout.sessions.retrieve, session_id, {"expand": ["line_items"]})
        )

    def checkout_sessions_for_payment(self, payment_ref: str) -> list[str]:
        found = self._call(self._client.v1.checkout.sessions.list, {"payment_intent": payment_ref})
        return [session["id"] for session in found.get("data", [])]

    # -- objects named by events ---------------------------------------------------------------
    def invoice(self, invoice_id: str) -> InvoiceState:
        return invoice_state(self._call(self._client.v1.invoices.retrieve, invoice_id, {"expand": ["payments"]}))

    def subscription(self, subscription_id: str) -> SubscriptionState:
        return subscription_state(self._call(self._client.v1.subscriptions.retrieve, subscription_id))

    def charge(self, charge_id: str) -> ChargeState:
        return charge_state(self._call(self._client.v1.charges.retrieve, charge_id))

    def dispute(self, dispute_id: str) -> DisputeState:
        return dispute_state(self._call(self._client.v1.disputes.retrieve, dispute_id))

    def latest_charge(self, payment_ref: str) -> str | None:
        return self._call(self._client.v1.payment_intents.retrieve, payment_ref).get("latest_charge")

    def disputes_for_charge(self, charge_id: str) -> list[DisputeState]:
        found = self._call(self._client.v1.disputes.list, {"charge": charge_id, "limit": 100})
        return [dispute_state(dispute) for dispute in found.get("data", [])]

    def invoices_for_payment(self, payment_ref: str) -> list[str]:
        """The invoices a payment intent paid (a subscription period's charge names no invoice)."""
        payment = {"type": "payment_intent", "payment_intent": payment_ref}
        found = self._call(self._client.v1.invoice_payments.list, {"payment": payment})
        return [entry["invoice"] for entry in found.get("data", []) if entry.get("invoice")]

    # -- erasure (PAY-6) --------------------------------------------------------------------------
    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck:
        """Every subscription of the customer that still bills ends now. Safe to repeat: ended ones
        are skipped, and a customer Stripe no longer knows has none."""
        try:
            found = self._call(self._client.v1.subscriptions.list, {"customer": customer_ref, "status": "all"})
        except errors.NotFound:
            return ProcessorAck(PROCESSOR, "cancel_subscriptions", customer_ref, True)
        for subscription in found.get("data", []):
            if subscription.get("status") not in ENDED:
                try:
                    self._call(self._client.v1.subscriptions.cancel, subscription["id"])
                except errors.NotFound:
                    continue
        return ProcessorAck(PROCESSOR, "cancel_subscriptions", customer_ref, True)

    def delete_customer(self, customer_ref: str) -> ProcessorAck:
        """The customer and what it holds (e-mail, payment methods) go; already gone is done."""
        try:
            deleted = bool(self._call(self._client.v1.customers.delete, customer_ref).get("deleted"))
        except errors.NotFound:
            deleted = True
        return ProcessorAck(PROCESSOR, "delete_customer", customer_ref, deleted)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> dict:
        try:
            return method(*args, **kwargs).to_dict()
        except self._stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise errors.NotFound("Stripe does not know this object.") from exc
            raise errors.InvalidInput("Stripe refused the request.") from exc
        except self._stripe.StripeError as exc:
            raise errors.UpstreamUnavailable("The payment provider is unavailable; please retry.") from exc


def _signed_at(signature_header: str) -> int:
    """The `t=` of a header the SDK has already verified (the SDK checks only the past side)."""
    fields = dict(part.split("=", 1) for part in signature_header.split(",") if "=" in part)
    return int(fields["t"])


# -- Stripe's JSON -> the port's dataclasses ----------------------------------------------------
def checkout_state(session: dict) -> CheckoutState:
    return CheckoutState(
        checkout_id=session["id"],
        user_id=session.get("client_reference_id"),
        price_ref=_first_price(session),
        quantity=_units(session, "line_items"),
        paid=session.get("payment_status") == "paid",
        status=session.get("status") or "open",
        mode=session.get("mode"),
        amount=session.get("amount_total"),
        currency=session.get("currency"),
        payment_ref=session.get("payment_intent"),
        subscription_id=session.get("subscription"),
        customer_ref=session.get("customer"),
    )


def invoice_state(invoice: dict) -> InvoiceState:
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return InvoiceState(
        invoice_id=invoice["id"],
        paid=invoice.get("status") == "paid",
        billing_reason=invoice.get("billing_reason"),
        subscription_id=details.get("subscription") or invoice.get("subscription"),
        amount=invoice.get("amount_paid"),
        currency=invoice.get("currency"),
        payment_ref=_invoice_payment_intent(invoice),
        customer_ref=invoice.get("customer"),
    )


def subscription_state(subscription: dict) -> SubscriptionState:
    items = ((subscription.get("items") or {}).get("data")) or []
    return SubscriptionState(
        subscription_id=subscription["id"],
        user_id=(subscription.get("metadata") or {}).get("user_id"),
        price_ref=((items[0].get("price") or {}).get("id")) if items else None,
        quantity=_units(subscription, "items"),
        status=subscription.get("status") or "unknown",
    )


def charge_state(charge: dict) -> ChargeState:
    return ChargeState(charge["id"], charge.get("payment_intent"), int(charge.get("amount_refunded") or 0))


def dispute_state(dispute: dict) -> DisputeState:
    return DisputeState(
        dispute_id=dispute["id"],
        status=dispute.get("status"),
        created=int(dispute.get("created") or 0),
        charge_id=dispute.get("charge"),
        payment_ref=dispute.get("payment_intent"),
    )


def _first_price(session: dict) -> str | None:
    items = ((session.get("line_items") or {}).get("data")) or []
    price = (items[0].get("price") or {}) if items else {}
    return price.get("id") if isinstance(price, dict) else price


def _units(obj: dict, items_field: str) -> int | None:
    """Units bought across a session's line items or a subscription's items (None if unreadable)."""
    quantities = [item.get("quantity") for item in ((obj.get(items_field) or {}).get("data")) or []]
    return sum(quantities) if quantities and all(isinstance(q, int) for q in quantities) else None


def _invoice_payment_intent(invoice: dict) -> str | None:
    for entry in ((invoice.get("payments") or {}).get("data")) or []:
        intent = (entry.get("payment") or {}).get("payment_intent")
        if intent:
            return intent
    return invoice.get("payment_intent")
