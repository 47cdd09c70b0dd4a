"""Polar (PromptPixels' processor): checkout sessions, orders and subscriptions over Polar's REST API,
deliveries signed with Standard Webhooks (PAY-1, PAY-4, PAY-5, PAY-6).

- Checkout: POST /v1/checkouts/ {products: [product id], success_url, external_customer_id,
  metadata}; the answer carries the checkout id and its hosted `url`. Polar copies the checkout's
  metadata onto the order and subscription it creates.
- Deliveries: headers webhook-id / webhook-timestamp / webhook-signature ("v1,<base64 HMAC-SHA256>"
  over "id.timestamp.body"); `standardwebhooks` verifies them and refuses timestamps more than five
  minutes off. The body is {"type": "order.paid", "timestamp": ..., "data": {...}}.
- Re-fetch: GET /v1/orders/{id} (status pending | paid | refunded | partially_refunded,
  total_amount, currency, refunded_amount, billing_reason purchase | subscription_create |
  subscription_cycle | subscription_update, product_id, subscription_id, customer_id, metadata)
  and GET /v1/subscriptions/{id}.
- Refund: POST /v1/refunds/ {order_id, reason, amount}. Erasure: the customer's subscriptions are
  revoked (DELETE /v1/subscriptions/{id}) and the customer deleted (DELETE /v1/customers/{id}).
"""

from __future__ import annotations

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

API_URL = "https://api.polar.sh"
PERIOD_REASONS = ("subscription_create", "subscription_cycle")
PAID_STATUSES = ("paid", "refunded", "partially_refunded")
SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class PolarRail:
    rail = Rail.POLAR
    title = "Polar"

    def __init__(
        self,
        *,
        http: Http,
        access_token: Callable[[], str],
        webhook_secret: Callable[[], str],
        base_url: str | None = None,
    ) -> None:
        self._http = http
        self._token = access_token
        self._webhook_secret = webhook_secret
        self._api = (base_url or API_URL).rstrip("/")

    def create_checkout(self, order: CheckoutOrder) -> CheckoutLink:
        checkout = self._call(
            "POST",
            "/v1/checkouts/",
            {
                "products": [order.offer_ref],
                "success_url": order.success_url + "&checkout_id={CHECKOUT_ID}",
                "external_customer_id": order.user_id,
                "metadata": {"user_id": order.user_id, "product": order.product_id},
            },
            "checkout",
        )
        return CheckoutLink(checkout_id=str(checkout["id"]), url=str(checkout["url"]))

    def parse_delivery(self, body: bytes, headers: Mapping[str, str]) -> RailEvent:
        from standardwebhooks import Webhook
        from standardwebhooks.webhooks import WebhookVerificationError

        signed = {name: header(headers, name) for name in SIGNED_HEADERS}
        try:
            Webhook(self._webhook_secret()).verify(body, signed)
        except WebhookVerificationError:
            raise errors.SignatureInvalid("The webhook signature is missing, wrong or stale.") from None
        event = json_object(body, "Polar event")
        event_type, data = event.get("type"), event.get("data")
        if not isinstance(event_type, str) or not isinstance(data, dict):
            raise errors.InvalidInput("The webhook body is not a Polar event.")
        object_id = data.get("id") if isinstance(data.get("id"), str) else None
        kind = EventKind.IGNORED
        if event_type.startswith("order."):
            kind = EventKind.ORDER
        elif event_type.startswith("subscription."):
            kind = EventKind.SUBSCRIPTION
        return RailEvent(event_id=signed["webhook-id"], kind=kind, object_id=object_id)

    def order(self, order_id: str) -> RailOrder:
        order = self._call("GET", f"/v1/orders/{_segment(order_id)}", None, "order")
        status = order.get("status")
        return RailOrder(
            order_id=str(order["id"]),
            status="paid" if status in PAID_STATUSES else ("pending" if status == "pending" else "failed"),
            user_id=_owner(order),
            offer_ref=order.get("product_id"),
            amount=as_int(order.get("total_amount")),
            currency=order.get("currency"),
            quantity=1,  # a Polar checkout sells one product; seats are not used here
            refunded_amount=as_int(order.get("refunded_amount"), 0) or 0,
            period=order.get("billing_reason") in PERIOD_REASONS,
            subscription_id=order.get("subscription_id"),
            customer_ref=order.get("customer_id"),
        )

    def subscription(self, subscription_id: str) -> RailSubscription:
        subscription = self._call("GET", f"/v1/subscriptions/{_segment(subscription_id)}", None, "subscription")
        return RailSubscription(
            subscription_id=str(subscription["id"]),
            status=str(subscription.get("status") or "unknown"),
            user_id=_owner(subscription),
            offer_ref=subscription.get("product_id"),
            customer_ref=subscription.get("customer_id"),
        )

    def answer_pre_checkout(self, event: RailEvent, ok: bool, error: str | None = None) -> None:
        raise errors.InvalidInput("Polar does not ask before it charges.")

    def refund(self, order: RailOrder, amount: int | None = None) -> ProcessorAck:
        wanted = amount if amount is not None else (order.amount or 0) - order.refunded_amount
        refund = self._call(
            "POST",
            "/v1/refunds/",
            {"order_id": order.order_id, "reason": "customer_request", "amount": wanted},
            "refund",
        )
        return ProcessorAck(self.title, "refund", order.order_id, True, 1, str(refund.get("id", "")))

    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck:
        found = self._call(
            "GET", f"/v1/subscriptions/?customer_id={_segment(customer_ref)}&active=true", None, "subscription"
        )
        items = [item for item in (found or {}).get("items", []) if isinstance(item, dict)]
        for subscription in items:
            self._call("DELETE", f"/v1/subscriptions/{_segment(str(subscription['id']))}", None, "subscription")
        return ProcessorAck(self.title, "cancel_subscriptions", customer_ref, True, len(items))

    def delete_customer(self, customer_ref: str) -> ProcessorAck:
        try:
            self._call("DELETE", f"/v1/customers/{_segment(customer_ref)}", None, "customer")
        except errors.NotFound:
            return ProcessorAck(self.title, "delete_customer", customer_ref, True, 0, "already deleted")
        return ProcessorAck(self.title, "delete_customer", customer_ref, True, 1)

    def _call(self, method: str, path: str, payload: object, what: str) -> dict:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        answer = call(self._http, method, self._api + path, headers=headers, payload=payload, what=what)
        return answer if isinstance(answer, dict) else {}


def _owner(obj: dict) -> str | None:
    """Our user: the checkout's metadata, or the customer's external id we set at checkout."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    customer = obj.get("customer") if isinstance(obj.get("customer"), dict) else {}
    owner = metadata.get("user_id") or customer.get("external_id")
    return owner if isinstance(owner, str) and owner else None


def _segment(value: str) -> str:
    """An id placed in a URL path: never a path of its own."""
    from urllib.parse import quote

    return quote(value, safe="")
