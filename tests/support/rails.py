"""A payment rail and its embedded emulator, wired to the rail-neutral billing service on the
in-memory ledger: the adapter speaks HTTP to the emulator's WSGI app in-process (no sockets), and the
emulator's signed deliveries reach the service in the test's own thread.

Deliveries are captured (`captured`) while `capturing` is on, so a test can replay them in any
order, duplicated, next to forgeries; Telegram's pre-checkout question is always answered at once,
as Telegram waits for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chalicelib import errors
from chalicelib.domain.catalogue import load_catalogue
from chalicelib.domain.payment_rails import RailBilling
from chalicelib.gateways.providers.common import HttpResponse
from infra.local_secrets import LOCAL_SECRETS

RAILS = ("polar", "lemonsqueezy", "telegram_stars")


class WsgiHttp:
    """The adapters' Http transport, handing each request to a WSGI app in-process."""

    def __init__(self, app) -> None:
        from werkzeug.test import Client

        self._client = Client(app)

    def request(self, method: str, url: str, *, headers=None, body: bytes | None = None) -> HttpResponse:
        parts = urlsplit(url)
        response = self._client.open(
            parts.path, method=method, query_string=parts.query, headers=dict(headers or {}), data=body
        )
        return HttpResponse(response.status_code, dict(response.headers), response.get_data())


@dataclass
class RailWorld:
    rail: str
    app: Any
    adapter: Any
    billing: RailBilling
    ledger: Any
    payments: Any
    capturing: bool = False
    captured: list[tuple[bytes, dict]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    telegram_users: dict[str, int] = field(default_factory=dict)
    bot: Any = None  # the Telegram bot, given the updates that are not payments (as the route does)

    @property
    def emulator(self):
        return self.app.emulator

    def deliver(self, body: bytes, headers: dict) -> int:
        asks = self.rail == "telegram_stars" and b'"pre_checkout_query"' in body
        if self.capturing and not asks:
            self.captured.append((body, dict(headers)))
            return 200
        return 200 if self.handle(body, headers) == "ok" else 400

    def handle(self, body: bytes, headers: dict) -> str:
        """What the webhook route answers: "ok", or the code of the domain error (the API's error
        shape carries the same code)."""
        try:
            result = self.billing.handle_delivery(self.rail, body, headers)
            if self.bot is not None and not result["handled"]:
                self.bot.handle_update(json.loads(body))
        except (errors.SignatureInvalid, errors.InvalidInput, errors.NotFound) as exc:
            outcome = exc.code
        else:
            outcome = "ok"
        self.statuses.append(outcome)
        return outcome

    def flush(self) -> None:
        self.emulator.deliveries.flush()

    def buy(self, user_id: str, product_id: str) -> str:
        """The user checks out and pays; returns the rail's order (or charge) id of the payment.
        Deliveries are flushed (or captured) before this returns."""
        attempt = f"{len(self.captured)}-{len(self.statuses)}-{len(self.emulator.deliveries.delivered)}"
        checkout = self.billing.start_checkout(self.rail, user_id, product_id, attempt)
        order_id = self.pay(checkout["url"], user_id)
        self.flush()
        return order_id

    def refund(self, order_id: str, amount: int | None = None):
        """The seller refunds through the service (the rail's refund call); returns its ProcessorAck."""
        return self.billing.refund(self.rail, order_id, amount)

    def amounts(self, order_id: str) -> tuple[int, int]:
        """(amount paid, amount refunded so far) as the rail reports them."""
        order = self.adapter.order(order_id)
        return order.amount, order.refunded_amount

    def pay(self, url: str, user_id: str) -> str:
        slug = url.rstrip("/").rsplit("/", 1)[-1]
        if self.rail == "polar":
            checkout = self.emulator.pay(slug)
            return next(o["id"] for o in self.emulator.orders.values() if o["metadata"] == checkout["metadata"])
        if self.rail == "lemonsqueezy":
            paid = self.emulator.pay(slug)
            invoices = [
                key
                for key, value in self.emulator.tables["subscription-invoices"].items()
                if value["subscription_id"] in _subscriptions_of(self.emulator, paid["order"])
            ]
            return f"subscription-invoices/{invoices[-1]}" if invoices else f"orders/{paid['order']}"
        telegram_user = self.telegram_users.setdefault(user_id, 7_000_000 + len(self.telegram_users))
        paid = self.emulator.pay(slug, telegram_user)
        if not paid["paid"]:
            raise errors.InvalidInput(paid.get("error_message") or "declined")
        return paid["telegram_payment_charge_id"]


def _subscriptions_of(emulator, order_id: str) -> set[int]:
    return {int(k) for k, v in emulator.tables["subscriptions"].items() if str(v["order_id"]) == str(order_id)}


def rail_world(rail: str, *, ledger=None, payments=None) -> RailWorld:
    from tests.fakes.billing import FakeLedger, FakePayments

    ledger = ledger or FakeLedger()
    payments = payments or FakePayments(ledger)
    holder: dict[str, RailWorld] = {}

    def deliver(body: bytes, headers: dict) -> int:
        return holder["world"].deliver(body, headers)

    app = _emulator_app(rail, deliver)
    adapter = rail_adapter(rail, WsgiHttp(app))
    billing = RailBilling(
        payments=payments,
        rails={rail: lambda: adapter},
        catalogue=load_catalogue("test"),
        public_base_url="https://app.test",
    )
    world = RailWorld(rail, app, adapter, billing, ledger, payments)
    holder["world"] = world
    return world


def _emulator_app(rail: str, deliver):
    options = {"api_base_url": "https://app.test", "deliver": deliver, "autoflush": False, "retry_delays": ()}
    if rail == "polar":
        from infra.emulators.polar import create_app
    elif rail == "lemonsqueezy":
        from infra.emulators.lemonsqueezy import create_app
    else:
        from infra.emulators.telegram import create_app
    return create_app(seed=7, **options)


def rail_adapter(rail: str, http) -> Any:
    from chalicelib.gateways.payments import create_rail

    return create_rail(rail, http=http, secret=LOCAL_SECRETS.__getitem__, base_url="https://rail.test", store_id="1")


class StripeWorld(RailWorld):
    """Stripe in the same suite: the BillingService's own flow (checkout sessions, the signed
    `Stripe-Signature` deliveries, re-fetch through stripe-python) on the in-memory ledger, the SDK
    speaking to the embedded Stripe emulator in-process. Stripe refunds are made at Stripe (the
    dashboard, the emulator's control here); the service only reconciles them."""

    gateway: Any = None

    def handle(self, body: bytes, headers: dict) -> str:
        try:
            signature = next((v for k, v in headers.items() if k.lower() == "stripe-signature"), None)
            self.billing.handle_stripe_delivery(body, signature)
        except (errors.SignatureInvalid, errors.InvalidInput, errors.NotFound) as exc:
            outcome = exc.code
        else:
            outcome = "ok"
        self.statuses.append(outcome)
        return outcome

    def flush(self) -> None:
        self.emulator.flush()

    def buy(self, user_id: str, product_id: str) -> str:
        """Returns the Checkout Session id (the payment's id in the service's records)."""
        attempt = f"{len(self.captured)}-{len(self.statuses)}-{len(self.emulator.delivered)}-{user_id}"
        session_id = self.billing.start_checkout(user_id, product_id, attempt)["session_id"]
        self.emulator.pay(session_id)
        self.flush()
        return session_id

    def refund(self, order_id: str, amount: int | None = None) -> None:
        intent = self.gateway.checkout_session(order_id).payment_ref
        self.emulator.refund(self.gateway.latest_charge(intent), amount)

    def amounts(self, order_id: str) -> tuple[int, int]:
        session = self.gateway.checkout_session(order_id)
        return session.amount, self.gateway.charge(self.gateway.latest_charge(session.payment_ref)).amount_refunded


def stripe_world(monkeypatch) -> StripeWorld:
    from chalicelib.domain.billing import BillingService
    from chalicelib.gateways.stripe_gateway import StripeGateway
    from infra.emulators.stripe import create_app
    from tests.fakes.billing import FakeAccountHolders, FakeLedger, FakePayments
    from tests.support.stripe import WsgiHTTPClient

    holder: dict[str, StripeWorld] = {}
    app = create_app(
        api_base_url="https://app.test",
        deliver=lambda body, headers: holder["world"].deliver(body, headers),
        autoflush=False,
        seed=7,
        retry_delays=(),
    )
    monkeypatch.setattr("stripe._stripe_client.new_default_http_client", lambda *a, **k: WsgiHTTPClient(app))
    gateway = StripeGateway(
        api_key=LOCAL_SECRETS["stripe-api-key"],
        webhook_secret=LOCAL_SECRETS["stripe-webhook-secret"],
        api_base="https://stripe.test",
    )
    ledger = FakeLedger()
    payments = FakePayments(ledger)
    billing = BillingService(
        ledger=ledger,
        payments=payments,
        provider=lambda: gateway,
        catalogue=load_catalogue("test"),
        public_base_url="https://app.test",
        accounts=FakeAccountHolders(),
    )
    world = StripeWorld("stripe", app, gateway, billing, ledger, payments)
    world.gateway = gateway
    holder["world"] = world
    return world
