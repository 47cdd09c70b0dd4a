"""The payments port: one Protocol every payment rail implements, speaking rail-neutral dataclasses
(PAY-1, PAY-4, PAY-5, PAY-6).

A rail creates hosted checkouts, verifies and parses its webhook deliveries into `RailEvent`s,
returns the authoritative state of the objects those events name (re-fetched, never trusted from
the delivery), refunds, cancels a customer's subscriptions and deletes (or redacts) the customer.
None of these shapes has a field for card data, so none can be stored (PAY-1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from chalicelib.domain.ports.processors import ProcessorAck


class Rail(StrEnum):
    """The payment rails a profile's processors can name (PAY-5)."""

    STRIPE = "stripe"
    POLAR = "polar"
    LEMONSQUEEZY = "lemonsqueezy"
    TELEGRAM_STARS = "telegram_stars"


class EventKind(StrEnum):
    ORDER = "order"  # a one-time payment or a subscription period's payment changed (paid, refunded)
    SUBSCRIPTION = "subscription"  # a subscription's status changed
    PRE_CHECKOUT = "pre_checkout"  # the rail asks whether to take a payment (Telegram Stars)
    IGNORED = "ignored"  # genuine, but nothing this service acts on


@dataclass(frozen=True, slots=True)
class CheckoutOrder:
    """What the domain asks a rail to sell: one unit of an offer, to one of our users."""

    user_id: str
    product_id: str
    offer_ref: str  # the rail's product, variant or invoice payload reference
    kind: str  # pack | plan
    title: str
    amount: int  # minor units (Stars for Telegram)
    currency: str
    success_url: str
    idempotency_key: str
    chat_id: str | None = None  # Telegram: the chat the invoice is sent to


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    checkout_id: str
    url: str


@dataclass(frozen=True, slots=True)
class RailEvent:
    """A verified delivery. `user_id` is what the signed delivery says about our buyer, for rails
    whose API does not return it on re-fetch (Lemon Squeezy's custom data)."""

    event_id: str
    kind: EventKind
    object_id: str | None
    user_id: str | None = None
    offer_ref: str | None = None  # pre-checkout only: what the buyer is about to pay for
    amount: int | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class RailOrder:
    """A payment as the rail reports it now: a one-time purchase or a subscription period."""

    order_id: str  # the business key: fulfilment happens once per order
    status: str  # paid | pending | failed | refunded (refunds also show in refunded_amount)
    user_id: str | None
    offer_ref: str | None
    amount: int | None
    currency: str | None
    quantity: int | None
    refunded_amount: int = 0
    period: bool = False  # a subscription period's payment (credits of a plan)
    subscription_id: str | None = None
    customer_ref: str | None = None


@dataclass(frozen=True, slots=True)
class RailSubscription:
    subscription_id: str
    status: str
    user_id: str | None
    offer_ref: str | None
    customer_ref: str | None = None


class PaymentRail(Protocol):
    """One payment rail. Deliveries are verified on the raw body before anything is parsed; the
    objects they name are re-fetched, so duplicates and any delivery order reach one state."""

    rail: Rail
    title: str  # the processor's name as the policy profile lists it

    def create_checkout(self, order: CheckoutOrder) -> CheckoutLink: ...

    def parse_delivery(self, body: bytes, headers: Mapping[str, str]) -> RailEvent: ...

    def order(self, order_id: str) -> RailOrder: ...

    def subscription(self, subscription_id: str) -> RailSubscription: ...

    def answer_pre_checkout(self, event: RailEvent, ok: bool, error: str | None = None) -> None: ...

    def refund(self, order: RailOrder, amount: int | None = None) -> ProcessorAck: ...

    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck: ...

    def delete_customer(self, customer_ref: str) -> ProcessorAck: ...
