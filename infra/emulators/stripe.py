"""An embedded Stripe for the local cloud and the tests.

It speaks the parts of Stripe's API the service calls (form-encoded requests, Stripe-shaped JSON
objects and errors, Idempotency-Key honoured), serves a local pay page, and sends webhooks signed
exactly as Stripe signs them: `Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256(secret, "t.body")>`.

Erasure calls (PAY-6) answer as Stripe's do and are recorded in `erasures`: listing a customer's
subscriptions, DELETE /v1/subscriptions/{id} (cancel now; emits customer.subscription.deleted) and
DELETE /v1/customers/{id} (the customer and its e-mail go; its live subscriptions are cancelled).

Like Stripe, it refuses API calls (`/v1/...`) without the secret key (401, Stripe's error shape),
and retries a delivery answered with anything but 2xx, signed afresh each time, with backoff:
bounded and faster than Stripe's three days (by default after 0.5, 1, 2 and 4 s, then it gives up).

Deliveries are queued; `flush()` sends them, with optional duplicates and reordering so tests and
demos can show that fulfilment does not depend on Stripe's delivery order.

Control endpoints (local only, no key; JSON bodies; each answers the object it changed):

  POST /_emulator/sessions/{session}/pay      {"method": "card" | "delayed"}  pay a Checkout
       Session; "delayed" (e.g. SEPA) completes it unpaid until settled
  POST /_emulator/sessions/{session}/settle   {"outcome": "succeeded" | "failed"}  a delayed payment
  POST /_emulator/sessions/{session}/expire   an open session expires
  POST /_emulator/disputes                    {"payment": charge, payment intent, session or invoice id}
  POST /_emulator/disputes/{dispute}/close    {"status": "won" | "lost"}
  POST /_emulator/subscriptions/{id}/renew    the next period's paid invoice (id: the subscription
  POST /_emulator/subscriptions/{id}/cancel   or the Checkout Session that started it)
  POST /_emulator/config                      {"duplicate_rate", "reorder", "autoflush"}
  GET  /_emulator/erasures                    what erasure asked of it: subscription cancels, customer deletes
  POST /_emulator/flush                       deliver what is queued now
  GET  /_emulator/events                      deliveries so far, queued, retrying and given up

Access lines (logger `infra.emulators.stripe`) name the method, the path without its query and
the status, and each delivery's event type, attempt and status: never a key or a signature.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import os
import random
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

API_VERSION = "2026-10-28.endive"
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)  # seconds before each retry; Stripe spreads its over three days
Deliver = Callable[[bytes, dict[str, str]], int]  # (body, headers) -> HTTP status
access_log = logging.getLogger(__name__)


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header value for `payload`, as Stripe computes it."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for part, nxt in zip(parts, parts[1:], strict=False):
            container: Any = [] if nxt.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                node[index] = node[index] if node[index] is not None else container
                node = node[index]
            else:
                node = node.setdefault(part, container)
        last = parts[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append(None)
            node[index] = value
        else:
            node[last] = value
    return root


class StripeError(Exception):
    def __init__(
        self, status: int, message: str, *, code: str | None = "resource_missing", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


class StripeEmulator:
    """The state and the behaviour; `create_app` puts HTTP in front of it."""

    def __init__(
        self,
        *,
        webhook_secret: str,
        prices: dict[str, dict],
        deliver: Deliver,
        public_url: str = "http://127.0.0.1:12111",
        autoflush: bool = True,
        seed: int | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.retry_delays = tuple(retry_delays)
        self.prices = prices  # price id -> {"amount", "currency", "recurring": bool}
        self.public_url = public_url.rstrip("/")
        self.autoflush = autoflush
        self.duplicate_rate = 0.0
        self.reorder = False
        self.objects: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[str, dict]] = {}
        self.pending: list[dict] = []
        self.delivered: list[tuple[str, int]] = []  # (event type, status), every attempt
        self.failed: list[dict] = []  # deliveries given up after the last retry
        self.erasures: list[tuple[str, str]] = []  # (call, object id) made by erasure (PAY-6)
        self._deliver = deliver
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._retries_done = threading.Condition(self._lock)
        self._retrying = 0

    # -- API ----------------------------------------------------------------------------------
    def create_checkout_session(self, params: dict, idempotency_key: str | None) -> dict:
        with self._lock:
            fingerprint = json.dumps(params, sort_keys=True)
            if idempotency_key and idempotency_key in self.idempotent:
                seen, response = self.idempotent[idempotency_key]
                if seen != fingerprint:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters.",
                        code="idempotency_key_in_use",
                    )
                return response
            items = params.get("line_items") or []
            if not items or not isinstance(items, list) or items[0].get("price") not in self.prices:
                raise StripeError(400, "No such price.", param="line_items[0][price]")
            mode = params.get("mode", "payment")
            price = self.prices[items[0]["price"]]
            quantity = int(items[0].get("quantity", 1))
            session_id = self._id("cs_test")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": mode,
                "status": "open",
                "payment_status": "unpaid",
                "client_reference_id": params.get("client_reference_id"),
                "amount_total": price["amount"] * quantity,
                "currency": price["currency"],
                "customer": None,
                "payment_intent": None,
                "subscription": None,
                "metadata": params.get("metadata") or {},
                "success_url": params.get("success_url"),
                "cancel_url": params.get("cancel_url"),
                "url": f"{self.public_url}/pay/{session_id}",
                "livemode": False,
                "created": int(time.time()),
                "_line_items": [{"price": items[0]["price"], "quantity": quantity}],
                "_subscription_data": params.get("subscription_data") or {},
            }
            self.objects[session_id] = session
            response = self._public(session)
            if idempotency_key:
                self.idempotent[idempotency_key] = (fingerprint, response)
            return response

    def snapshot(self) -> dict:
        """Its state as JSON data, kept by the local cloud across a restart (infra/localcloud/persistence.py)."""
        with self._lock:
            return json.loads(
                json.dumps(
                    {
                        "objects": self.objects,
                        "idempotent": self.idempotent,
                        "pending": self.pending,
                        "failed": self.failed,
                        "delivered": self.delivered,
                    }
                )
            )

    def resume(self, state: dict) -> None:
        """Takes back a snapshot; deliveries queued at the stop go out now."""
        with self._lock:
            self.objects.update(state.get("objects", {}))
            self.idempotent.update({key: tuple(value) for key, value in state.get("idempotent", {}).items()})
            self.pending.extend(state.get("pending", []))
            self.failed.extend(state.get("failed", []))
            self.delivered.extend(tuple(item) for item in state.get("delivered", []))
        if self.pending and self.autoflush:
            threading.Thread(target=self.flush, daemon=True).start()

    def retrieve(self, object_id: str, expand: list[str] = ()) -> dict:
        with self._lock:
            obj = self.objects.get(object_id)
            if obj is None:
                raise StripeError(404, f"No such object: '{object_id}'")
            view = self._public(obj)
            if obj["object"] == "checkout.session" and "line_items" in expand:
                view["line_items"] = {
                    "object": "list",
                    "data": [
                        {
                            "object": "item",
                            "quantity": item["quantity"],
                            "price": {"id": item["price"], "object": "price"},
                            "amount_total": self.prices[item["price"]]["amount"] * item["quantity"],
                        }
                        for item in obj["_line_items"]
                    ],
                    "has_more": False,
                }
            return view

    def list_sessions(self, payment_intent: str | None) -> dict:
        with self._lock:
            data = [
                self._public(o)
                for o in self.objects.values()
                if o["object"] == "checkout.session"
                and (payment_intent is None or o["payment_intent"] == payment_intent)
            ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/checkout/sessions"}

    def list_disputes(self, charge: str | None) -> dict:
        with self._lock:
            data = [
                self._public(o)
                for o in self.objects.values()
                if o["object"] == "dispute" and (charge is None or o["charge"] == charge)
            ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/disputes"}

    def list_invoice_payments(self, payment: dict | None) -> dict:
        """Stripe's invoice payments, filtered by the payment intent that paid them."""
        intent = (payment or {}).get("payment_intent")
        with self._lock:
            data = [
                {
                    "id": f"inpay_{invoice['id'].removeprefix('in_')}",
                    "object": "invoice_payment",
                    "invoice": invoice["id"],
                    "payment": entry["payment"],
                    "status": "paid",
                }
                for invoice in self.objects.values()
                if invoice["object"] == "invoice"
                for entry in invoice["payments"]["data"]
                if intent is None or entry["payment"].get("payment_intent") == intent
            ]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/invoice_payments"}

    def create_refund(self, params: dict) -> dict:
        charge_id = params.get("charge")
        if not charge_id and params.get("payment_intent"):
            charge_id = self.retrieve(params["payment_intent"]).get("latest_charge")
        return self.refund(charge_id, int(params["amount"]) if params.get("amount") else None)

    # -- what a customer or the bank does -------------------------------------------------------
    def pay(self, session_id: str, *, asynchronous: bool = False, fail: bool = False, settle: bool = True) -> dict:
        """Complete a session as the pay page does. `asynchronous`: a delayed method (e.g. SEPA):
        the session completes unpaid and the outcome arrives as async_payment_succeeded or _failed,
        at once when `settle`, else when `settle_delayed` is called."""
        with self._lock:
            session = self._get(session_id, "checkout.session")
            if session["status"] != "open":
                raise StripeError(400, "This Checkout Session is no longer open.", code="checkout_session_inactive")
            customer = self._id("cus_test")
            session.update(status="complete", customer=customer)
            self.objects[customer] = {
                "id": customer,
                "object": "customer",
                "email": session.get("customer_email"),
                "metadata": {},
            }
            if session["mode"] != "subscription":
                intent = self._id("pi_test")
                session["payment_intent"] = intent
                self.objects[intent] = {
                    "id": intent,
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "currency": session["currency"],
                    "status": "processing",
                    "latest_charge": None,
                }
            if not asynchronous:
                self._succeed(session)
                self._emit("checkout.session.completed", session)
                return self._public(session)
            self._emit("checkout.session.completed", session)
            return self.settle_delayed(session_id, succeeded=not fail) if settle else self._public(session)

    def settle_delayed(self, session_id: str, *, succeeded: bool) -> dict:
        """The outcome of a delayed payment method."""
        with self._lock:
            session = self._get(session_id, "checkout.session")
            if session["status"] != "complete" or session["payment_status"] != "unpaid" or session.get("_settled"):
                raise StripeError(400, "This Checkout Session has no payment awaiting settlement.", code=None)
            session["_settled"] = True
            if not succeeded:
                self._emit("checkout.session.async_payment_failed", session)
                return self._public(session)
            self._succeed(session)
            self._emit("checkout.session.async_payment_succeeded", session)
            return self._public(session)

    def _succeed(self, session: dict) -> None:
        if session["mode"] == "subscription":
            self._start_subscription(session, session["customer"])
        self._mark_paid(session)

    def expire(self, session_id: str) -> dict:
        with self._lock:
            session = self._get(session_id, "checkout.session")
            if session["status"] != "open":
                raise StripeError(400, "Only an open session can be expired.", code="checkout_session_inactive")
            session["status"] = "expired"
            self._emit("checkout.session.expired", session)
            return self._public(session)

    def refund(self, charge_id: str, amount: int | None = None) -> dict:
        with self._lock:
            charge = self._get(charge_id, "charge")
            amount = amount if amount is not None else charge["amount"] - charge["amount_refunded"]
            if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
                raise StripeError(400, "Refund amount exceeds the charge.", code="amount_too_large", param="amount")
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refund = {
                "id": self._id("re_test"),
                "object": "refund",
                "amount": amount,
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "status": "succeeded",
            }
            self.objects[refund["id"]] = refund
            self._emit("charge.refunded", charge)
            return dict(refund)

    def dispute(self, charge_id: str) -> dict:
        with self._lock:
            charge = self._get(charge_id, "charge")
            dispute = {
                "id": self._id("dp_test"),
                "object": "dispute",
                "charge": charge_id,
                "payment_intent": charge["payment_intent"],
                "amount": charge["amount"],
                "currency": charge["currency"],
                "status": "needs_response",
                "reason": "fraudulent",
                "created": int(time.time()),
            }
            self.objects[dispute["id"]] = dispute
            self._emit("charge.dispute.created", dispute)
            return dict(dispute)

    def dispute_payment(self, reference: str) -> dict:
        """Dispute the charge behind a charge, payment intent, Checkout Session or invoice id."""
        with self._lock:
            obj = self.objects.get(reference or "")
            kind = obj["object"] if obj else None
            intent = {
                "charge": lambda: None,
                "payment_intent": lambda: obj["id"],
                "checkout.session": lambda: obj["payment_intent"],
                "invoice": lambda: obj["payments"]["data"][0]["payment"]["payment_intent"],
            }.get(kind, lambda: None)()
            charge_id = obj["id"] if kind == "charge" else (self.objects.get(intent or "") or {}).get("latest_charge")
            if not charge_id:
                raise StripeError(404, f"No paid charge behind '{reference}'.")
            return self.dispute(charge_id)

    def subscription_of(self, reference: str) -> str:
        """A subscription id, given itself or the Checkout Session that started it."""
        with self._lock:
            obj = self.objects.get(reference or "") or {}
            return (obj.get("subscription") or reference) if obj.get("object") == "checkout.session" else reference

    def close_dispute(self, dispute_id: str, status: str) -> dict:
        with self._lock:
            dispute = self._get(dispute_id, "dispute")
            if status not in ("won", "lost"):
                raise StripeError(400, "A dispute closes as won or lost.", code="parameter_invalid", param="status")
            dispute["status"] = status
            self._emit("charge.dispute.closed", dispute)
            return dict(dispute)

    def renew(self, subscription_id: str) -> dict:
        """The next billing period: a paid invoice with billing_reason subscription_cycle."""
        with self._lock:
            subscription = self._get(subscription_id, "subscription")
            return self._invoice(subscription, "subscription_cycle")

    def cancel(self, subscription_id: str) -> dict:
        with self._lock:
            subscription = self._get(subscription_id, "subscription")
            subscription["status"] = "canceled"
            self._emit("customer.subscription.deleted", subscription)
            return dict(subscription)

    # -- erasure (PAY-6) ------------------------------------------------------------------------
    def list_subscriptions(self, customer: str | None, status: str | None) -> dict:
        with self._lock:
            data = [
                self._public(o)
                for o in self.objects.values()
                if o["object"] == "subscription"
                and o.get("customer") == customer
                and (status == "all" or o["status"] != "canceled")
            ]
            self.erasures.append(("list_subscriptions", customer or ""))
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/subscriptions"}

    def cancel_subscription(self, subscription_id: str) -> dict:
        """DELETE /v1/subscriptions/{id}: ends it now; a canceled one cannot be canceled again."""
        with self._lock:
            subscription = self._get(subscription_id, "subscription")
            if subscription["status"] == "canceled":
                raise StripeError(400, "This subscription has already been canceled.", code=None)
            self.erasures.append(("cancel_subscription", subscription_id))
            return self.cancel(subscription_id)

    def delete_customer(self, customer_id: str) -> dict:
        """DELETE /v1/customers/{id}: Stripe cancels the customer's live subscriptions with it."""
        with self._lock:
            self._get(customer_id, "customer")
            for obj in list(self.objects.values()):
                if (
                    obj["object"] == "subscription"
                    and obj.get("customer") == customer_id
                    and obj["status"] != "canceled"
                ):
                    self.cancel(obj["id"])
            del self.objects[customer_id]
            self.erasures.append(("delete_customer", customer_id))
            return {"id": customer_id, "object": "customer", "deleted": True}

    # -- webhooks -------------------------------------------------------------------------------
    def flush(self) -> list[tuple[str, int]]:
        """Deliver every queued event (duplicated and reordered when those switches are on).
        Returns each first attempt's (type, status); failed ones are retried in the background."""
        with self._lock:
            batch, self.pending = self.pending, []
            batch = batch + [e for e in batch if self._random.random() < self.duplicate_rate]
            if self.reorder:
                self._random.shuffle(batch)
        return [(event["type"], self._send(event, attempt=1)) for event in batch]

    def wait_for_retries(self, timeout: float) -> bool:
        """Wait until no delivery awaits a retry; False if some still do after `timeout` seconds."""
        with self._retries_done:
            return self._retries_done.wait_for(lambda: self._retrying == 0, timeout)

    def _send(self, event: dict, attempt: int) -> int:
        body = json.dumps(event).encode()
        headers = {
            "Stripe-Signature": sign(body, self.webhook_secret, int(time.time())),  # signed afresh each attempt
            "Content-Type": "application/json; charset=utf-8",
        }
        status = self._deliver(body, headers)
        access_log.info("delivery %s %s attempt %d: %s", event["type"], event["id"], attempt, status)
        with self._lock:
            self.delivered.append((event["type"], status))
            if 200 <= status < 300:
                return status
            if attempt > len(self.retry_delays):
                self.failed.append({"type": event["type"], "attempts": attempt})
                return status
            self._retrying += 1
        timer = threading.Timer(self.retry_delays[attempt - 1], self._retry, (event, attempt + 1))
        timer.daemon = True
        timer.start()
        return status

    def _retry(self, event: dict, attempt: int) -> None:
        try:
            self._send(event, attempt)
        finally:
            with self._retries_done:
                self._retrying -= 1
                self._retries_done.notify_all()

    def _emit(self, event_type: str, obj: dict) -> None:
        event = {
            "id": self._id("evt_test"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": self._public(obj)},
        }
        self.pending.append(event)
        if self.autoflush:
            threading.Thread(target=self.flush, daemon=True).start()

    # -- internals ------------------------------------------------------------------------------
    def _mark_paid(self, session: dict) -> None:
        session["payment_status"] = "paid"
        intent = self.objects.get(session["payment_intent"] or "")
        if intent is not None:
            intent["status"] = "succeeded"
            intent["latest_charge"] = self._charge(intent["id"], intent["amount"], intent["currency"])

    def _charge(self, intent_id: str, amount: int, currency: str) -> str:
        charge = {
            "id": self._id("ch_test"),
            "object": "charge",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "payment_intent": intent_id,
            "paid": True,
            "refunded": False,
            "status": "succeeded",
        }
        self.objects[charge["id"]] = charge
        return charge["id"]

    def _start_subscription(self, session: dict, customer: str) -> None:
        subscription = {
            "id": self._id("sub_test"),
            "object": "subscription",
            "status": "active",
            "customer": customer,
            "metadata": dict((session["_subscription_data"] or {}).get("metadata") or {}),
            "items": {
                "object": "list",
                "data": [
                    {"price": {"id": item["price"]}, "quantity": item["quantity"]} for item in session["_line_items"]
                ],
            },
        }
        self.objects[subscription["id"]] = subscription
        session["subscription"] = subscription["id"]
        self._emit("customer.subscription.created", subscription)
        self._invoice(subscription, "subscription_create")

    def _invoice(self, subscription: dict, reason: str) -> dict:
        price = self.prices[subscription["items"]["data"][0]["price"]["id"]]
        intent = self._id("pi_test")
        self.objects[intent] = {
            "id": intent,
            "object": "payment_intent",
            "amount": price["amount"],
            "currency": price["currency"],
            "status": "succeeded",
            "latest_charge": None,
        }
        self.objects[intent]["latest_charge"] = self._charge(intent, price["amount"], price["currency"])
        invoice = {
            "id": self._id("in_test"),
            "object": "invoice",
            "status": "paid",
            "billing_reason": reason,
            "amount_paid": price["amount"],
            "currency": price["currency"],
            "customer": subscription["customer"],
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"], "metadata": subscription["metadata"]},
            },
            "payments": {
                "object": "list",
                "data": [
                    {"object": "invoice_payment", "payment": {"type": "payment_intent", "payment_intent": intent}}
                ],
            },
        }
        self.objects[invoice["id"]] = invoice
        self._emit("invoice.paid", invoice)
        return dict(invoice)

    def _get(self, object_id: str, kind: str) -> dict:
        obj = self.objects.get(object_id or "")
        if obj is None or obj["object"] != kind:
            raise StripeError(404, f"No such {kind}: '{object_id}'")
        return obj

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    @staticmethod
    def _public(obj: dict) -> dict:
        return json.loads(json.dumps({k: v for k, v in obj.items() if not k.startswith("_")}))


def http_deliverer(url: str) -> Deliver:
    def deliver(body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the app's own URL)
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    return deliver


def default_prices() -> dict[str, dict]:
    """Every price id the catalogue names, for any stage, with its amount."""
    import tomllib

    from chalicelib.domain.catalogue import CATALOGUE_FILE

    data = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    prices = {}
    for section in ("packs", "plans"):
        for spec in data.get(section, {}).values():
            for price_id in spec["price_ids"].values():
                prices[price_id] = {
                    "amount": int(spec["amount"]),
                    "currency": spec["currency"],
                    "recurring": section == "plans",
                }
    return prices


def create_app(
    *,
    api_base_url: str,
    webhook_secret: str | None = None,
    public_url: str | None = None,
    deliver: Deliver | None = None,
    autoflush: bool = True,
    seed: int | None = None,
    api_key: str | None = None,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
):
    """A WSGI app for the emulator; webhooks go to `{api_base_url}/webhooks/stripe`.
    The emulator itself is `app.emulator` (tests drive it directly)."""
    # In the local cloud the app's setting names the emulator's own address (for pay page links).
    public_url = public_url or os.environ.get("PIXELKEEP_STRIPE_API_BASE") or "http://127.0.0.1:8010"
    from infra.local_secrets import LOCAL_SECRETS

    webhook_secret = webhook_secret or LOCAL_SECRETS["stripe-webhook-secret"]
    api_key = api_key or LOCAL_SECRETS["stripe-api-key"]
    emulator = StripeEmulator(
        webhook_secret=webhook_secret,
        prices=default_prices(),
        deliver=deliver or http_deliverer(f"{api_base_url.rstrip('/')}/webhooks/stripe"),
        public_url=public_url,
        autoflush=autoflush,
        seed=seed,
        retry_delays=retry_delays,
    )

    def app(environ, start_response):
        request = Request(environ)
        try:
            if request.path.startswith("/v1/") and not _presents(request, api_key):
                raise StripeError(401, _AUTHENTICATION_HELP, code=None)
            response = _route(emulator, request)
        except StripeError as exc:
            kind = "idempotency_error" if exc.code == "idempotency_key_in_use" else "invalid_request_error"
            body = {"error": {"type": kind, "message": exc.message}}
            body["error"].update({k: v for k, v in (("code", exc.code), ("param", exc.param)) if v})
            response = _json(body, exc.status)
        access_log.info("%s %s %s", request.method, request.path, response.status_code)
        return response(environ, start_response)

    app.emulator = emulator  # type: ignore[attr-defined]
    return app


_AUTHENTICATION_HELP = (
    "Invalid API Key provided. Pass your secret key as a bearer token (Authorization: Bearer sk_...)."
)


def _presents(request: Request, api_key: str) -> bool:
    """Whether the request carries the secret key, as Stripe accepts it: bearer or basic user."""
    header = request.headers.get("Authorization", "")
    presented = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    if presented is None and request.authorization and request.authorization.type == "basic":
        presented = request.authorization.username
    return bool(presented) and hmac.compare_digest(presented.encode(), api_key.encode())


_CONTROLS = re.compile(r"^/_emulator/(sessions|disputes|subscriptions)/([\w]+)/(\w+)$")
_OBJECT_ROUTES = re.compile(
    r"^/v1/(checkout/sessions|invoices|subscriptions|charges|disputes|payment_intents|refunds|customers)/([\w]+)$"
)
_DELETABLE = re.compile(r"^/v1/(customers|subscriptions)/([\w]+)$")


def _route(emulator: StripeEmulator, request: Request) -> Response:
    path, method = request.path, request.method
    params = decode_form(parse_qsl(request.get_data(as_text=True), keep_blank_values=True)) if method == "POST" else {}
    query = decode_form(parse_qsl(request.query_string.decode(), keep_blank_values=True))
    if path == "/v1/checkout/sessions" and method == "POST":
        return _json(emulator.create_checkout_session(params, request.headers.get("Idempotency-Key")))
    if path == "/v1/checkout/sessions" and method == "GET":
        return _json(emulator.list_sessions(query.get("payment_intent")))
    if path == "/v1/disputes" and method == "GET":
        return _json(emulator.list_disputes(query.get("charge")))
    if path == "/v1/invoice_payments" and method == "GET":
        return _json(emulator.list_invoice_payments(query.get("payment")))
    if path == "/v1/refunds" and method == "POST":
        return _json(emulator.create_refund(params))
    if path == "/v1/subscriptions" and method == "GET":
        return _json(emulator.list_subscriptions(query.get("customer"), query.get("status")))
    found = _DELETABLE.match(path)
    if found and method == "DELETE":
        kind, object_id = found.groups()
        if kind == "customers":
            return _json(emulator.delete_customer(object_id))
        return _json(emulator.cancel_subscription(object_id))
    found = _OBJECT_ROUTES.match(path)
    if found and method == "GET":
        return _json(emulator.retrieve(found.group(2), list(query.get("expand") or [])))
    if path.startswith("/pay/"):
        return _pay_page(emulator, request, path.removeprefix("/pay/").split("/"))
    if path.startswith("/_emulator/") and method == "POST":
        response = _control(emulator, path, request.get_json(silent=True) or {})
        if response is not None:
            return response
    if path == "/_emulator/config" and method == "POST":
        body = request.get_json(silent=True) or {}
        emulator.duplicate_rate = float(body.get("duplicate_rate", emulator.duplicate_rate))
        emulator.reorder = bool(body.get("reorder", emulator.reorder))
        emulator.autoflush = bool(body.get("autoflush", emulator.autoflush))
        return _json(
            {"duplicate_rate": emulator.duplicate_rate, "reorder": emulator.reorder, "autoflush": emulator.autoflush}
        )
    if path == "/_emulator/flush" and method == "POST":
        return _json({"delivered": emulator.flush()})
    if path == "/_emulator/erasures" and method == "GET":
        with emulator._lock:
            return _json({"erasures": emulator.erasures})
    if path == "/_emulator/events" and method == "GET":
        with emulator._lock:
            return _json(
                {
                    "delivered": emulator.delivered,
                    "pending": len(emulator.pending),
                    "retrying": emulator._retrying,
                    "failed": emulator.failed,
                }
            )
    raise StripeError(404, f"Unrecognized request URL ({method}: {path}).", code="resource_missing")


def _control(emulator: StripeEmulator, path: str, body: dict) -> Response | None:
    """What a customer, a bank or time would do, triggered over HTTP (see the module docstring)."""
    if path == "/_emulator/disputes":
        return _json(emulator.dispute_payment(str(body.get("payment") or "")))
    found = _CONTROLS.match(path)
    if not found:
        return None
    kind, object_id, action = found.groups()
    actions = {
        ("sessions", "pay"): lambda: emulator.pay(
            object_id, asynchronous=body.get("method") == "delayed", settle=False
        ),
        ("sessions", "settle"): lambda: emulator.settle_delayed(
            object_id, succeeded=body.get("outcome", "succeeded") == "succeeded"
        ),
        ("sessions", "expire"): lambda: emulator.expire(object_id),
        ("disputes", "close"): lambda: emulator.close_dispute(object_id, str(body.get("status") or "")),
        ("subscriptions", "renew"): lambda: emulator.renew(emulator.subscription_of(object_id)),
        ("subscriptions", "cancel"): lambda: emulator.cancel(emulator.subscription_of(object_id)),
    }
    action_call = actions.get((kind, action))
    if action_call is None:
        raise StripeError(404, f"Unrecognized control ({path}).")
    return _json(action_call())


def _pay_page(emulator: StripeEmulator, request: Request, parts: list[str]) -> Response:
    session_id = parts[0]
    action = parts[1] if len(parts) > 1 else ""
    if request.method == "POST" and action == "complete":
        session = emulator.pay(session_id)
        return Response(
            status=303, headers={"Location": session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)}
        )
    if request.method == "POST" and action == "refund":
        intent = emulator.retrieve(emulator.retrieve(session_id)["payment_intent"] or "")
        emulator.refund(intent["latest_charge"])
        return Response(status=303, headers={"Location": f"/pay/{session_id}"})
    session = emulator.retrieve(session_id)
    name = html.escape(session_id)
    if session["status"] == "open":
        actions = f'<form method="post" action="/pay/{name}/complete"><button>Pay (test card)</button></form>'
    elif session["payment_intent"]:
        actions = f'<p>Paid.</p><form method="post" action="/pay/{name}/refund"><button>Refund</button></form>'
    else:
        actions = f"<p>Status: {html.escape(session['status'])}</p>"
    amount = f"{session['amount_total'] / 100:.2f} {html.escape(session['currency'].upper())}"
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Local Stripe checkout</title></head>"
        f"<body><h1>Local Stripe checkout</h1><p>Session {name}: {amount}</p>{actions}</body></html>"
    )
    return Response(page, content_type="text/html; charset=utf-8")


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body),
        status=status,
        content_type="application/json",
        headers={"Request-Id": f"req_{secrets.token_hex(8)}", "Stripe-Version": API_VERSION},
    )
