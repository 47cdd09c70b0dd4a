"""What payments need from the world (PAY-1, PAY-4, PAY-6).

Payment records: what a payment leaves behind and where its refunds and disputes stand. A payment
provider: hosted checkout, verified webhooks and the authoritative objects they name. The ledger
they move credits through is in `ledger`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.ports.ledger import CreditMovement
from chalicelib.domain.ports.processors import ProcessorAck


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where a paid payment's credits stand: granted, taken back for refunds, held back by a
    standing chargeback, and the charge's latest dispute (PAY-4)."""

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


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """A payment record as kept: its facts, its outcome, and its settlement."""

    payment: Payment
    status: str  # open | paid | failed | expired | subscribed | mismatch
    settlement: Settlement
    created_at: datetime
    paid_at: datetime | None = None
    mismatch: str | None = None  # JSON: what differed from the catalogue price


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    plan: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """The envelope of a verified delivery: the object it names is re-fetched, never trusted."""

    id: str
    type: str
    object_id: str | None


class PaymentRecords(Protocol):
    """Payment records, each change applied with its ledger movement in one transaction (PAY-1)."""

    def fulfil(self, payment: Payment, grant: CreditMovement) -> bool: ...

    def mark(self, payment: Payment, status: str, *, mismatch: Mapping | None = None) -> bool: ...

    def payment(self, stripe_id: str) -> StoredPayment | None: ...

    def payment_for_intent(self, payment_intent_id: str) -> StoredPayment | None: ...

    def held_for_review(self, limit: int = 100) -> list[StoredPayment]: ...

    def settle(
        self, stripe_id: str, expected: Settlement, settled: Settlement, movement: CreditMovement | None
    ) -> int | None: ...

    def track_subscription(self, subscription_id: str, user_id: str, plan_id: str, status: str) -> None: ...

    def subscription(self, subscription_id: str) -> Subscription | None: ...


@dataclass(frozen=True, slots=True)
class CheckoutState:
    """A hosted checkout as the provider reports it now (PAY-1: no card data in it)."""

    checkout_id: str
    user_id: str | None  # who we created it for
    price_ref: str | None  # the catalogue price it sells
    quantity: int | None  # units across its items; None when unreadable
    paid: bool
    status: str  # open | complete | expired
    mode: str | None  # payment | subscription
    amount: int | None
    currency: str | None
    payment_ref: str | None  # the payment its charge belongs to (refunds and disputes name it)
    subscription_id: str | None = None
    customer_ref: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceState:
    """A subscription period's bill as the provider reports it now."""

    invoice_id: str
    paid: bool
    billing_reason: str | None
    subscription_id: str | None
    amount: int | None
    currency: str | None
    payment_ref: str | None
    customer_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    subscription_id: str
    user_id: str | None
    price_ref: str | None
    quantity: int | None
    status: str


@dataclass(frozen=True, slots=True)
class ChargeState:
    charge_id: str
    payment_ref: str | None
    amount_refunded: int


@dataclass(frozen=True, slots=True)
class DisputeState:
    dispute_id: str
    status: str | None  # needs_response ... | won | warning_closed | lost
    created: int
    charge_id: str | None
    payment_ref: str | None


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What to sell in one hosted checkout: one unit of a catalogue price, to one of our users."""

    user_id: str
    product_id: str
    price_ref: str
    mode: str  # payment | subscription
    success_url: str
    cancel_url: str
    idempotency_key: str


class PaymentProvider(Protocol):
    """Stripe as the domain sees it: hosted checkout, verified webhooks, and the authoritative
    objects events name (re-fetched, never trusted from the delivery), mapped by the adapter to the
    neutral states above so the domain reads no provider's JSON."""

    def verify_event(self, payload: bytes, signature_header: str | None) -> ProviderEvent: ...

    def create_checkout(self, request: CheckoutRequest) -> tuple[str, str]: ...

    def checkout_session(self, session_id: str) -> CheckoutState: ...

    def checkout_sessions_for_payment(self, payment_ref: str) -> list[str]: ...

    def invoice(self, invoice_id: str) -> InvoiceState: ...

    def invoices_for_payment(self, payment_ref: str) -> list[str]: ...

    def subscription(self, subscription_id: str) -> SubscriptionState: ...

    def latest_charge(self, payment_ref: str) -> str | None: ...

    def charge(self, charge_id: str) -> ChargeState: ...

    def dispute(self, dispute_id: str) -> DisputeState: ...

    def disputes_for_charge(self, charge_id: str) -> list[DisputeState]: ...

    def cancel_subscriptions(self, customer_ref: str) -> ProcessorAck:
        """PAY-6: every live subscription of the customer ends now; an unknown customer has none."""

    def delete_customer(self, customer_ref: str) -> ProcessorAck:
        """PAY-6: the processor's customer (and the e-mail it holds) is deleted or redacted."""


class AccountHolders(Protocol):
    """Whether a person still has an account: credits are granted to live accounts only (PAY-6)."""

    def get_user(self, user_id: str, *, consistent: bool = False) -> object | None: ...
