"""An embedded Polar, for the local cloud and the tests: the REST calls the adapter makes
(chalicelib/gateways/payments/polar.py) and Standard Webhooks deliveries to the app.

  POST   /v1/checkouts/                  {products, success_url, external_customer_id, metadata}
  GET    /v1/orders/<id>                 GET /v1/subscriptions/<id>   GET /v1/subscriptions/?customer_id=
  POST   /v1/refunds/                    {order_id, reason, amount}
  DELETE /v1/subscriptions/<id>          revoke now        DELETE /v1/customers/<id>
  GET    /checkout/<id>                  the hosted checkout page (a button pays it)

API calls need the local access token (Authorization: Bearer). Deliveries carry webhook-id,
webhook-timestamp and webhook-signature ("v1,<base64 HMAC-SHA256>" over "id.timestamp.body") and the
body {"type", "timestamp", "data"}. Controls (POST): /_emulator/checkouts/<id>/pay (the buyer pays),
/_emulator/subscriptions/<id>/renew (the next period is billed), and the shared delivery controls
(infra/emulators/deliveries.py).
"""

from __future__ import annotations

import hmac
import html
import os
import threading
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from infra.emulators.deliveries import (
    RETRY_DELAYS,
    Deliver,
    Deliveries,
    catalogue_offers,
    http_deliverer,
    json_response,
    shared_control,
)


class PolarError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class PolarEmulator:
    def __init__(
        self,
        *,
        webhook_secret: str,
        deliver: Deliver,
        public_url: str = "http://127.0.0.1:8012",
        products: dict[str, dict] | None = None,
        autoflush: bool = True,
        seed: int | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        from standardwebhooks import Webhook

        self._signer = Webhook(webhook_secret)
        self.public_url = public_url.rstrip("/")
        self.products = products if products is not None else catalogue_offers("polar_products")
        self.checkouts: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.deliveries = Deliveries(
            sign=self._sign, deliver=deliver, autoflush=autoflush, seed=seed, retry_delays=retry_delays
        )
        self._lock = threading.RLock()

    # -- API ----------------------------------------------------------------------------------
    def create_checkout(self, body: dict) -> dict:
        products = body.get("products")
        if not isinstance(products, list) or len(products) != 1 or products[0] not in self.products:
            raise PolarError(422, "products: one existing product id is required")
        checkout_id = str(uuid.uuid4())
        checkout = {
            "id": checkout_id,
            "status": "open",
            "url": f"{self.public_url}/checkout/{checkout_id}",
            "product_id": products[0],
            "success_url": str(body.get("success_url") or ""),
            "external_customer_id": body.get("external_customer_id"),
            "metadata": dict(body.get("metadata") or {}),
        }
        with self._lock:
            self.checkouts[checkout_id] = checkout
        return checkout

    def order(self, order_id: str) -> dict:
        return self._get(self.orders, order_id, "Order")

    def subscription(self, subscription_id: str) -> dict:
        return self._get(self.subscriptions, subscription_id, "Subscription")

    def list_subscriptions(self, customer_id: str | None, active: bool) -> dict:
        items = [
            s
            for s in self.subscriptions.values()
            if (customer_id is None or s["customer_id"] == customer_id) and (not active or s["status"] == "active")
        ]
        return {"items": items, "pagination": {"total_count": len(items), "max_page": 1}}

    def refund(self, body: dict) -> dict:
        with self._lock:
            order = self.order(str(body.get("order_id") or ""))
            amount = body.get("amount")
            refundable = order["total_amount"] - order["refunded_amount"]
            if not isinstance(amount, int) or amount < 1 or amount > refundable:
                raise PolarError(422, "amount: must be between 1 and the refundable amount")
            order["refunded_amount"] += amount
            order["status"] = "refunded" if order["refunded_amount"] == order["total_amount"] else "partially_refunded"
            refund = {"id": str(uuid.uuid4()), "order_id": order["id"], "amount": amount, "status": "succeeded"}
            self.refunds[refund["id"]] = refund
            self._emit("refund.created", refund)
            self._emit("order.refunded", order)
            return refund

    def revoke(self, subscription_id: str) -> dict:
        with self._lock:
            subscription = self.subscription(subscription_id)
            subscription["status"] = "canceled"
            self._emit("subscription.revoked", subscription)
            return subscription

    def delete_customer(self, customer_id: str) -> None:
        with self._lock:
            customer = self._get(self.customers, customer_id, "Customer")
            customer["deleted_at"] = _now()

    # -- what buyers and time do ----------------------------------------------------------------
    def pay(self, checkout_id: str) -> dict:
        with self._lock:
            checkout = self._get(self.checkouts, checkout_id, "Checkout")
            if checkout["status"] != "open":
                raise PolarError(409, "The checkout is not open.")
            checkout["status"] = "succeeded"
            customer = self._customer(checkout.get("external_customer_id"))
            product = self.products[checkout["product_id"]]
            subscription_id = None
            if product["recurring"]:
                subscription_id = str(uuid.uuid4())
                self.subscriptions[subscription_id] = {
                    "id": subscription_id,
                    "status": "active",
                    "product_id": checkout["product_id"],
                    "customer_id": customer["id"],
                    "customer": customer,
                    "metadata": checkout["metadata"],
                    "amount": product["amount"],
                    "currency": product["currency"],
                }
                self._emit("subscription.created", self.subscriptions[subscription_id])
                self._emit("subscription.active", self.subscriptions[subscription_id])
            reason = "subscription_create" if product["recurring"] else "purchase"
            self._order(checkout["product_id"], customer, checkout["metadata"], reason, subscription_id)
            return checkout

    def renew(self, subscription_id: str) -> dict:
        with self._lock:
            subscription = self.subscription(subscription_id)
            if subscription["status"] != "active":
                raise PolarError(409, "The subscription is not active.")
            customer = self.customers[subscription["customer_id"]]
            return self._order(
                subscription["product_id"], customer, subscription["metadata"], "subscription_cycle", subscription_id
            )

    def _order(self, product_id: str, customer: dict, metadata: dict, reason: str, subscription_id: str | None) -> dict:
        product = self.products[product_id]
        order_id = str(uuid.uuid4())
        order = {
            "id": order_id,
            "created_at": _now(),
            "status": "paid",
            "paid": True,
            "billing_reason": reason,
            "total_amount": product["amount"],
            "subtotal_amount": product["amount"],
            "tax_amount": 0,
            "refunded_amount": 0,
            "currency": product["currency"],
            "product_id": product_id,
            "subscription_id": subscription_id,
            "customer_id": customer["id"],
            "customer": customer,
            "metadata": metadata,
        }
        self.orders[order_id] = order
        self._emit("order.created", order)
        self._emit("order.paid", order)
        return order

    def _customer(self, external_id: Any) -> dict:
        for customer in self.customers.values():
            if external_id and customer["external_id"] == external_id and not customer.get("deleted_at"):
                return customer
        customer = {"id": str(uuid.uuid4()), "external_id": external_id, "deleted_at": None}
        self.customers[customer["id"]] = customer
        return customer

    def _emit(self, event_type: str, data: dict) -> None:
        body = {"type": event_type, "timestamp": _now(), "data": dict(data)}
        self.deliveries.emit(f"msg_{uuid.uuid4().hex}", event_type, body)

    def _sign(self, message_id: str, body: bytes) -> dict[str, str]:
        now = datetime.now(UTC)
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(message_id, now, body.decode()),
        }

    @staticmethod
    def _get(table: dict[str, dict], object_id: str, what: str) -> dict:
        found = table.get(object_id)
        if found is None:
            raise PolarError(404, f"{what} not found")
        return found


def _now() -> str:
    return datetime.now(UTC).isoformat()


def create_app(
    *,
    api_base_url: str,
    access_token: str | None = None,
    webhook_secret: str | None = None,
    public_url: str | None = None,
    deliver: Deliver | None = None,
    autoflush: bool = True,
    seed: int | None = None,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
):
    """A WSGI app for the emulator; deliveries go to `{api_base_url}/webhooks/polar`. The emulator
    itself is `app.emulator`."""
    from infra.local_secrets import LOCAL_SECRETS

    # In the local cloud the app's setting names the emulator's own address (for checkout links).
    public_url = public_url or os.environ.get("PIXELKEEP_POLAR_API_BASE") or "http://127.0.0.1:8012"

    access_token = access_token or LOCAL_SECRETS["polar-access-token"]
    emulator = PolarEmulator(
        webhook_secret=webhook_secret or LOCAL_SECRETS["polar-webhook-secret"],
        deliver=deliver or http_deliverer(f"{api_base_url.rstrip('/')}/webhooks/polar"),
        public_url=public_url,
        autoflush=autoflush,
        seed=seed,
        retry_delays=retry_delays,
    )

    def app(environ, start_response):
        request = Request(environ)
        try:
            if request.path.startswith("/v1/") and not _authorized(request, access_token):
                raise PolarError(401, "Unauthorized")
            response = _route(emulator, request)
        except PolarError as exc:
            response = json_response({"detail": exc.detail}, exc.status)
        return response(environ, start_response)

    app.emulator = emulator  # type: ignore[attr-defined]
    return app


def _authorized(request: Request, token: str) -> bool:
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return hmac.compare_digest(presented.encode(), token.encode())


def _route(emulator: PolarEmulator, request: Request) -> Response:
    path, method = request.path.rstrip("/"), request.method
    body = request.get_json(silent=True) or {}
    parts = path.strip("/").split("/")
    if path == "/v1/checkouts" and method == "POST":
        return json_response(emulator.create_checkout(body), 201)
    if path == "/v1/refunds" and method == "POST":
        return json_response(emulator.refund(body), 201)
    if path == "/v1/subscriptions" and method == "GET":
        query = parse_qs(request.query_string.decode())
        customer = (query.get("customer_id") or [None])[0]
        return json_response(emulator.list_subscriptions(customer, (query.get("active") or [""])[0] == "true"))
    if len(parts) == 3 and parts[0] == "v1":
        kind, object_id = parts[1], parts[2]
        if kind == "orders" and method == "GET":
            return json_response(emulator.order(object_id))
        if kind == "subscriptions" and method == "GET":
            return json_response(emulator.subscription(object_id))
        if kind == "subscriptions" and method == "DELETE":
            return json_response(emulator.revoke(object_id))
        if kind == "customers" and method == "DELETE":
            emulator.delete_customer(object_id)
            return Response(status=204)
    if len(parts) == 4 and parts[0] == "_emulator" and method == "POST":
        actions = {("checkouts", "pay"): emulator.pay, ("subscriptions", "renew"): emulator.renew}
        action = actions.get((parts[1], parts[3]))
        if action is not None:
            return json_response(action(parts[2]))
    if parts[0] == "checkout" and len(parts) >= 2:
        return _checkout_page(emulator, request, parts[1], paying=len(parts) == 3 and method == "POST")
    shared = shared_control(emulator.deliveries, request)
    if shared is not None:
        return shared
    raise PolarError(404, "Not found")


def _checkout_page(emulator: PolarEmulator, request: Request, checkout_id: str, *, paying: bool) -> Response:
    if paying:
        checkout = emulator.pay(checkout_id)
        location = checkout["success_url"].replace("{CHECKOUT_ID}", checkout_id)
        return Response(status=303, headers={"Location": location})
    checkout = PolarEmulator._get(emulator.checkouts, checkout_id, "Checkout")
    product = emulator.products[checkout["product_id"]]
    name = html.escape(checkout_id)
    action = (
        f'<form method="post" action="/checkout/{name}/pay"><button>Pay (test card)</button></form>'
        if checkout["status"] == "open"
        else f"<p>Status: {html.escape(checkout['status'])}</p>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Local Polar checkout</title></head><body>"
        f"<h1>Local Polar checkout</h1><p>{html.escape(product['name'])}: {product['amount'] / 100:.2f} "
        f"{html.escape(product['currency'].upper())}</p>{action}</body></html>"
    )
    return Response(page, content_type="text/html; charset=utf-8")
