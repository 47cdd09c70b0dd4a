"""Lemon Squeezy (Kaleipix's web subscriptions): checkouts, orders, subscriptions and subscription
invoices over its JSON:API, deliveries signed with X-Signature (PAY-1, PAY-4, PAY-5, PAY-6).

- Checkout: POST /v1/checkouts {data: {type: "checkouts", attributes: {checkout_data: {custom:
  {user_id, product}}, product_options: {redirect_url}}, relationships: {store, variant}}}; the
  answer's data.attributes.url is the hosted checkout.
- Deliveries: X-Signature is the hex HMAC-SHA256 of the raw body with the webhook's signing secret
  (X-Event-Name names the event). The body is {"meta": {"event_name", "custom_data"}, "data":
  {"type", "id", "attributes"}}. The signature carries no timestamp, so a replayed genuine delivery
  verifies; it changes nothing, because the object it names is re-fetched and fulfilment is keyed.
- Events: order_created / order_refunded (type "orders"), subscription_payment_success /
  _refunded (type "subscription-invoices": a period's payment), subscription_created / _updated /
  _cancelled / _expired ... (type "subscriptions").
- Re-fetch: GET /v1/orders/{id}, /v1/subscription-invoices/{id}, /v1/subscriptions/{id}. The API
  does not return checkout custom data, so the buyer comes from the signed delivery's meta.
- Refund: POST /v1/orders/{id}/refund or /v1/subscription-invoices/{id}/refund {data: {type, id,
  attributes: {amount}}}. Erasure: DELETE /v1/subscriptions/{id} cancels each subscription; the API
  deletes no customer, so the customer is archived (PATCH status "archived") and the ack says so.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from chalicelib import errors
from chalicelib.domain.ports.payments import (
    CheckoutLink,
    CheckoutOrder,
    EventKind,
    ProcessorAck,
    Rail,
    RailEvent,
    RailOrder,
    RailSubscription,
)
from chalicelib.gateways.payments.common import as_int, call, json_object
from chalicelib.gateways.providers.common import Http, header

API_URL = "https://api.lemonsqueezy.com"
JSON_API = "application/vnd.api+json"
PAID_STATUSES = ("paid", "refunded", "partial_refund")
PERIOD_REASONS = ("initial", "renewal")
ORDER_TYPES = {"orders": "orders", "subscription-invoices": "subscription-invoices"}


class LemonSqueezyRail:
    rail = Rail.LEMONSQUEEZY
    title = "Lemon Squeezy"

    def __init__(
        self,
        *,
        http: Http,
        api_key: Callable[[], str],
        webhook_secret: Callable[[], str],
        store_id: str,
        base_url: str | None = None,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self._store_id = store_id
        self._api = (base_url or API_URL).rstrip("/")

    def create_checkout(self, order: CheckoutOrder) -> CheckoutLink:
        answer = self._call(
            "POST",
            "/v1/checkouts",
            {
                "data": {
                    "type": "checkouts",
                    "attributes": {
                        "checkout_data": {"custom": {"user_id": order.user_id, "product": order.product_id}},
                        "product_options": {"redirect_url": order.success_url},
                    },
                    "relationships": {
                        "store": {"data": {"type": "stores", "id": self._store_id}},
                        "variant": {"data": {"type": "variants", "id": order.offer_ref}},
                    },
                }
            },
            "checkout",
        )
        data = answer.get("data") or {}
        return CheckoutLink(checkout_id=str(data["id"]), url=str((data.get("attributes") or {})["url"]))

    def parse_delivery(self, body: bytes, headers: Mapping[str, str]) -> RailEvent:
        expected = hmac.new(self._webhook_secret().encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, header(headers, "x-signature")):
            raise errors.SignatureInvalid("The webhook signature is missing or wrong.")
        event = json_object(body, "Lemon Squeezy event")
        meta, data = event.get("meta"), event.get("data")
        if not isinstance(meta, dict) or not isinstance(data, dict) or not isinstance(meta.get("event_name"), str):
            raise errors.InvalidInput("The webhook body is not a Lemon Squeezy event.")
        custom = meta.get("custom_data") if isinstance(meta.get("custom_data"), dict) else {}
        user_id = custom.get("user_id") if isinstance(custom.get("user_id"), str) else None
        data_type, data_id = data.get("type"), str(data.get("id") or "")
        delivery_id = hashlib.sha256(body).hexdigest()[:32]  # Lemon Squeezy sends no delivery id
        if not data_id.isdigit():
            return RailEvent(delivery_id, EventKind.IGNORED, None)
        if data_type in ORDER_TYPES:
            return RailEvent(delivery_id, EventKind.ORDER, f"{data_type}/{data_id}", user_id=user_id)
        if data_type == "subscriptions":
            return RailEvent(delivery_id, EventKind.SUBSCRIPTION, data_id, user_id=user_id)
        return RailEvent(delivery_id, EventKind.IGNORED, None)

    def order(self, order_id: str) -> RailOrder:
        data_type, _, number = order_id.partition("/")
        if data_type not in ORDER_TYPES or not number.isdigit():
            raise errors.NotFound("Lemon Squeezy does not know this order.")
        attributes = self._fetch(f"/v1/{data_type}/{number}", "order")
        status = attributes.get("status")
        paid = "paid" if status in PAID_STATUSES else ("failed" if status in ("failed", "void") else "pending")
        if data_type == "orders":
            item = attributes.get("first_order_item") if isinstance(attributes.get("first_order_item"), dict) else {}
            return RailOrder(
                order_id=order_id,
                status=paid,
                user_id=None,
                offer_ref=_ref(item.get("variant_id")),
                amount=as_int(attributes.get("total")),
                currency=attributes.get("currency"),
                quantity=as_int(item.get("quantity")),
                refunded_amount=as_int(attributes.get("refunded_amount"), 0) or 0,
                customer_ref=_ref(attributes.get("customer_id")),
            )
        subscription_id = _ref(attributes.get("subscription_id"))
        subscription = self._fetch(f"/v1/subscriptions/{subscription_id}", "subscription") if subscription_id else {}
        return RailOrder(
            order_id=order_id,
            status=paid,
            user_id=None,
            offer_ref=_ref(subscription.get("variant_id")),
            amount=as_int(attributes.get("total")),
            currency=attributes.get("currency"),
            quantity=1,
            refunded_amount=as_int(attributes.get("refunded_amount"), 0) or 0,
            period=attributes.get("billing_reason") in PERIOD_REASONS,
            subscription_id=subscription_id,
            customer_ref=_ref(attributes.get("customer_id")),
        )

    def subscription(self, subscription_id: str) -> RailSubscription:
        if not subscription_id.isdigit():
            raise errors.NotFound("Lemon Squeezy does not know this subscription.")
        attributes = self._fetch(f"/v1/subscriptions/{subscription_id}", "subscription")
        return RailSubscription(
            subscription_id=subscription_id,
            status=str(attributes.get("status") or "unknown"),
            user_id=None,
            offer_ref=_ref(attributes.get("variant_id")),
            customer_ref=_ref(attributes.get("customer_id")),
        )

    def answer_pre_checkout(self, event: RailEvent, ok: bool, error: str | None = None) -> None:
        raise errors.InvalidInput("Lemon Squeezy does not ask before it charges.")

    def refund(self, order: RailOrder, amount: int | None = None) -> ProcessorAck:
        data_type, _, number = order.order_id.partition("/")
        wanted = amount if amount is not None else (order.amount or 0) - order.refunded_amount
        self._call(
            "POST",
            f"/v1/{data_type}/{number}/refund",
            {"data": {"type": data_type, "id": number, "attributes": {"amount": wanted}}},
            "refund",
        )
        return ProcessorAck(self.title, "refund", order.order_id, True, 1)

    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck:
        if not customer_ref.isdigit():
            return ProcessorAck(self.title, "cancel_subscriptions", customer_ref, True, 0, "no such customer")
        found = self._call("GET", f"/v1/subscriptions?filter[customer_id]={customer_ref}", None, "subscription")
        live = [
            str(item["id"])
            for item in found.get("data") or []
            if (item.get("attributes") or {}).get("status") not in ("cancelled", "expired")
        ]
        for subscription_id in live:
            self._call("DELETE", f"/v1/subscriptions/{subscription_id}", None, "subscription")
        return ProcessorAck(self.title, "cancel_subscriptions", customer_ref, True, len(live))

    def delete_customer(self, customer_ref: str) -> ProcessorAck:
        if not customer_ref.isdigit():
            return ProcessorAck(self.title, "delete_customer", customer_ref, True, 0, "no such customer")
        self._call(
            "PATCH",
            f"/v1/customers/{customer_ref}",
            {"data": {"type": "customers", "id": customer_ref, "attributes": {"status": "archived"}}},
            "customer",
        )
        return ProcessorAck(
            self.title, "delete_customer", customer_ref, True, 1, "archived: the API deletes no customer"
        )

    def _fetch(self, path: str, what: str) -> dict:
        data = self._call("GET", path, None, what).get("data")
        return (data.get("attributes") or {}) if isinstance(data, dict) else {}

    def _call(self, method: str, path: str, payload: object, what: str) -> dict:
        headers = {"Authorization": f"Bearer {self._api_key()}", "Accept": JSON_API}
        if payload is not None:
            headers["Content-Type"] = JSON_API
        answer = call(self._http, method, self._api + path, headers=headers, payload=payload, what=what)
        return answer if isinstance(answer, dict) else {}


def _ref(value: object) -> str | None:
    """Lemon Squeezy ids are numbers in attributes and strings in `data.id`: one spelling here."""
    number = as_int(value)
    return str(number) if number is not None else None
