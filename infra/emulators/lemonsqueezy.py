"""An embedded Lemon Squeezy, for the local cloud and the tests: the JSON:API calls the adapter makes
(chalicelib/gateways/payments/lemonsqueezy.py) and X-Signature-signed deliveries to the app.

  POST   /v1/checkouts                        checkout_data.custom, product_options, store + variant
  GET    /v1/orders/<id>  /v1/subscription-invoices/<id>  /v1/subscriptions/<id>
  GET    /v1/subscriptions?filter[customer_id]=<id>
  POST   /v1/orders/<id>/refund  /v1/subscription-invoices/<id>/refund   {data.attributes.amount}
  DELETE /v1/subscriptions/<id>              cancel      PATCH /v1/customers/<id>   archive
  GET    /checkout/<id>                      the hosted checkout page

API calls need the local API key (Authorization: Bearer). Deliveries carry X-Event-Name and
X-Signature (hex HMAC-SHA256 of the body with the signing secret); the body is {"meta":
{"event_name", "custom_data"}, "data": {"type", "id", "attributes"}}. Controls (POST):
/_emulator/checkouts/<id>/pay, /_emulator/subscriptions/<id>/renew, and the shared delivery
controls (infra/emulators/deliveries.py).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import threading
import uuid
from datetime import UTC, datetime

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

JSON_API = "application/vnd.api+json"


class LemonError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class LemonSqueezyEmulator:
    def __init__(
        self,
        *,
        webhook_secret: str,
        deliver: Deliver,
        public_url: str = "http://127.0.0.1:8013",
        variants: dict[str, dict] | None = None,
        autoflush: bool = True,
        seed: int | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._secret = webhook_secret.encode()
        self.public_url = public_url.rstrip("/")
        self.variants = variants if variants is not None else catalogue_offers("lemonsqueezy_variants")
        self.tables: dict[str, dict[str, dict]] = {
            kind: {} for kind in ("checkouts", "orders", "subscriptions", "subscription-invoices", "customers")
        }
        self.custom: dict[str, dict] = {}  # object key -> the checkout's custom data
        self._next_id = 1  # Lemon Squeezy's ids are numbers: kept across a restart so none repeats
        self.deliveries = Deliveries(
            sign=self._sign, deliver=deliver, autoflush=autoflush, seed=seed, retry_delays=retry_delays
        )
        self._lock = threading.RLock()

    # -- API ----------------------------------------------------------------------------------
    def create_checkout(self, body: dict) -> dict:
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        attributes = data.get("attributes") or {}
        relationships = data.get("relationships") or {}
        variant = ((relationships.get("variant") or {}).get("data") or {}).get("id")
        if data.get("type") != "checkouts" or str(variant) not in self.variants:
            raise LemonError(422, "The variant does not exist.")
        checkout_id = str(uuid.uuid4())
        checkout = {
            "variant_id": int(variant),
            "url": f"{self.public_url}/checkout/{checkout_id}",
            "checkout_data": attributes.get("checkout_data") or {},
            "product_options": attributes.get("product_options") or {},
            "status": "open",
        }
        with self._lock:
            self.tables["checkouts"][checkout_id] = checkout
        return self.resource("checkouts", checkout_id)

    def resource(self, kind: str, object_id: str) -> dict:
        found = self.tables.get(kind, {}).get(object_id)
        if found is None:
            raise LemonError(404, "Not found")
        return {"data": {"type": kind, "id": object_id, "attributes": found}}

    def list_subscriptions(self, customer_id: str | None) -> dict:
        rows = [
            {"type": "subscriptions", "id": key, "attributes": value}
            for key, value in self.tables["subscriptions"].items()
            if customer_id is None or str(value["customer_id"]) == customer_id
        ]
        return {"data": rows, "meta": {"page": {"total": len(rows)}}}

    def refund(self, kind: str, object_id: str, body: dict) -> dict:
        with self._lock:
            record = self.resource(kind, object_id)["data"]["attributes"]
            amount = ((body.get("data") or {}).get("attributes") or {}).get("amount")
            refundable = record["total"] - record["refunded_amount"]
            if not isinstance(amount, int) or amount < 1 or amount > refundable:
                raise LemonError(422, "The amount cannot be refunded.")
            record["refunded_amount"] += amount
            record["refunded"] = True
            record["status"] = "refunded" if record["refunded_amount"] == record["total"] else "partial_refund"
            event = "order_refunded" if kind == "orders" else "subscription_payment_refunded"
            self._emit(event, kind, object_id)
            return self.resource(kind, object_id)

    def cancel_subscription(self, subscription_id: str) -> dict:
        with self._lock:
            subscription = self.resource("subscriptions", subscription_id)["data"]["attributes"]
            subscription["status"], subscription["cancelled"] = "cancelled", True
            self._emit("subscription_cancelled", "subscriptions", subscription_id)
            return self.resource("subscriptions", subscription_id)

    def update_customer(self, customer_id: str, body: dict) -> dict:
        with self._lock:
            customer = self.resource("customers", customer_id)["data"]["attributes"]
            status = ((body.get("data") or {}).get("attributes") or {}).get("status")
            if status not in ("archived", None):
                raise LemonError(422, "Only archiving is supported.")
            customer["status"] = status or customer["status"]
            return self.resource("customers", customer_id)

    # -- what buyers and time do ----------------------------------------------------------------
    def pay(self, checkout_id: str) -> dict:
        with self._lock:
            checkout = self.resource("checkouts", checkout_id)["data"]["attributes"]
            if checkout["status"] != "open":
                raise LemonError(409, "The checkout is not open.")
            checkout["status"] = "paid"
            variant = self.variants[str(checkout["variant_id"])]
            custom = dict((checkout["checkout_data"] or {}).get("custom") or {})
            customer_id = self._add("customers", {"status": "subscribed", "name": "Local Buyer"})
            order_id = self._add(
                "orders",
                {
                    "customer_id": int(customer_id),
                    "identifier": str(uuid.uuid4()),
                    "status": "paid",
                    "currency": variant["currency"].upper(),
                    "subtotal": variant["amount"],
                    "total": variant["amount"],
                    "refunded": False,
                    "refunded_amount": 0,
                    "first_order_item": {
                        "variant_id": checkout["variant_id"],
                        "quantity": 1,
                        "price": variant["amount"],
                    },
                    "created_at": _now(),
                },
            )
            self.custom[f"orders/{order_id}"] = custom
            self._emit("order_created", "orders", order_id)
            if variant["recurring"]:
                subscription_id = self._add(
                    "subscriptions",
                    {
                        "order_id": int(order_id),
                        "customer_id": int(customer_id),
                        "variant_id": checkout["variant_id"],
                        "status": "active",
                        "cancelled": False,
                        "renews_at": _now(),
                    },
                )
                self.custom[f"subscriptions/{subscription_id}"] = custom
                self._emit("subscription_created", "subscriptions", subscription_id)
                self._invoice(subscription_id, "initial")
            return {"checkout": checkout_id, "order": order_id, "redirect_url": self._redirect(checkout)}

    def renew(self, subscription_id: str) -> dict:
        with self._lock:
            subscription = self.resource("subscriptions", subscription_id)["data"]["attributes"]
            if subscription["status"] != "active":
                raise LemonError(409, "The subscription is not active.")
            return self.resource("subscription-invoices", self._invoice(subscription_id, "renewal"))

    def _invoice(self, subscription_id: str, reason: str) -> str:
        subscription = self.tables["subscriptions"][subscription_id]
        variant = self.variants[str(subscription["variant_id"])]
        invoice_id = self._add(
            "subscription-invoices",
            {
                "subscription_id": int(subscription_id),
                "customer_id": subscription["customer_id"],
                "billing_reason": reason,
                "status": "paid",
                "currency": variant["currency"].upper(),
                "subtotal": variant["amount"],
                "total": variant["amount"],
                "refunded": False,
                "refunded_amount": 0,
                "created_at": _now(),
            },
        )
        self.custom[f"subscription-invoices/{invoice_id}"] = self.custom.get(f"subscriptions/{subscription_id}", {})
        self._emit("subscription_payment_success", "subscription-invoices", invoice_id)
        return invoice_id

    def snapshot(self) -> dict:
        """Its objects as JSON data, kept by the local cloud across a restart (infra/localcloud/persistence.py):
        a new order after a restart must not reuse an id the app has already granted for."""
        with self._lock:
            return json.loads(json.dumps({"tables": self.tables, "custom": self.custom, "next_id": self._next_id}))

    def resume(self, state: dict) -> None:
        with self._lock:
            for kind, objects in state.get("tables", {}).items():
                self.tables.setdefault(kind, {}).update(objects)
            self.custom.update(state.get("custom", {}))
            self._next_id = max(self._next_id, int(state.get("next_id", 1)))

    def _add(self, kind: str, attributes: dict) -> str:
        with self._lock:
            object_id = str(self._next_id)
            self._next_id += 1
        self.tables[kind][object_id] = attributes
        return object_id

    def _emit(self, event_name: str, kind: str, object_id: str) -> None:
        custom = self.custom.get(f"{kind}/{object_id}") or self.custom.get(self._parent_key(kind, object_id), {})
        body = {
            "meta": {"test_mode": True, "event_name": event_name, "custom_data": custom},
            **self.resource(kind, object_id),
        }
        self.deliveries.emit(str(uuid.uuid4()), event_name, body)

    def _parent_key(self, kind: str, object_id: str) -> str:
        return f"subscriptions/{object_id}" if kind == "subscriptions" else ""

    def _sign(self, message_id: str, body: bytes) -> dict[str, str]:
        import json

        event_name = json.loads(body)["meta"]["event_name"]
        return {"X-Event-Name": event_name, "X-Signature": hmac.new(self._secret, body, hashlib.sha256).hexdigest()}

    @staticmethod
    def _redirect(checkout: dict) -> str:
        return str((checkout.get("product_options") or {}).get("redirect_url") or "")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def create_app(
    *,
    api_base_url: str,
    api_key: str | None = None,
    webhook_secret: str | None = None,
    public_url: str | None = None,
    deliver: Deliver | None = None,
    autoflush: bool = True,
    seed: int | None = None,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
):
    """A WSGI app for the emulator; deliveries go to `{api_base_url}/webhooks/lemonsqueezy`."""
    from infra.local_secrets import LOCAL_SECRETS

    # In the local cloud the app's setting names the emulator's own address (for checkout links).
    public_url = public_url or os.environ.get("PIXELKEEP_LEMONSQUEEZY_API_BASE") or "http://127.0.0.1:8013"

    api_key = api_key or LOCAL_SECRETS["lemonsqueezy-api-key"]
    emulator = LemonSqueezyEmulator(
        webhook_secret=webhook_secret or LOCAL_SECRETS["lemonsqueezy-webhook-secret"],
        deliver=deliver or http_deliverer(f"{api_base_url.rstrip('/')}/webhooks/lemonsqueezy"),
        public_url=public_url,
        autoflush=autoflush,
        seed=seed,
        retry_delays=retry_delays,
    )

    def app(environ, start_response):
        request = Request(environ)
        try:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if request.path.startswith("/v1/") and not hmac.compare_digest(presented.encode(), api_key.encode()):
                raise LemonError(401, "Unauthenticated.")
            response = _route(emulator, request)
        except LemonError as exc:
            body = {"errors": [{"status": str(exc.status), "detail": exc.detail}]}
            response = json_response(body, exc.status, JSON_API)
        return response(environ, start_response)

    app.emulator = emulator  # type: ignore[attr-defined]
    return app


def _route(emulator: LemonSqueezyEmulator, request: Request) -> Response:
    path, method = request.path.rstrip("/"), request.method
    body = request.get_json(silent=True, force=True) or {}
    parts = path.strip("/").split("/")
    if path == "/v1/checkouts" and method == "POST":
        return json_response(emulator.create_checkout(body), 201, JSON_API)
    if path == "/v1/subscriptions" and method == "GET":
        return json_response(emulator.list_subscriptions(request.args.get("filter[customer_id]")), 200, JSON_API)
    if parts[0] == "v1" and len(parts) == 3:
        kind, object_id = parts[1], parts[2]
        if method == "GET" and kind in ("orders", "subscriptions", "subscription-invoices", "customers"):
            return json_response(emulator.resource(kind, object_id), 200, JSON_API)
        if method == "DELETE" and kind == "subscriptions":
            return json_response(emulator.cancel_subscription(object_id), 200, JSON_API)
        if method == "PATCH" and kind == "customers":
            return json_response(emulator.update_customer(object_id, body), 200, JSON_API)
    if parts[0] == "v1" and len(parts) == 4 and parts[3] == "refund" and method == "POST":
        if parts[1] in ("orders", "subscription-invoices"):
            return json_response(emulator.refund(parts[1], parts[2], body), 200, JSON_API)
    if len(parts) == 4 and parts[0] == "_emulator" and method == "POST":
        actions = {("checkouts", "pay"): emulator.pay, ("subscriptions", "renew"): emulator.renew}
        action = actions.get((parts[1], parts[3]))
        if action is not None:
            return json_response(action(parts[2]))
    if parts[0] == "checkout" and len(parts) >= 2:
        return _checkout_page(emulator, parts[1], paying=len(parts) == 3 and method == "POST")
    shared = shared_control(emulator.deliveries, request)
    if shared is not None:
        return shared
    raise LemonError(404, "Not found")


def _checkout_page(emulator: LemonSqueezyEmulator, checkout_id: str, *, paying: bool) -> Response:
    if paying:
        paid = emulator.pay(checkout_id)
        return Response(status=303, headers={"Location": paid["redirect_url"] or "/"})
    checkout = emulator.resource("checkouts", checkout_id)["data"]["attributes"]
    variant = emulator.variants[str(checkout["variant_id"])]
    name = html.escape(checkout_id)
    action = (
        f'<form method="post" action="/checkout/{name}/pay"><button>Pay (test card)</button></form>'
        if checkout["status"] == "open"
        else f"<p>Status: {html.escape(checkout['status'])}</p>"
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Local Lemon Squeezy checkout</title></head><body>"
        f"<h1>Local Lemon Squeezy checkout</h1><p>{html.escape(variant['name'])}: {variant['amount'] / 100:.2f} "
        f"{html.escape(variant['currency'].upper())}</p>{action}</body></html>"
    )
    return Response(page, content_type="text/html; charset=utf-8")
