"""Request models of the billing routes (PAY-1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.schemas.common import Reply


class CheckoutRequest(BaseModel):
    """`attempt` is the caller's idempotency key (or its Idempotency-Key header): the same key, the
    same session. Without one, a repeat reuses the buyer's session only while it is open."""

    model_config = ConfigDict(extra="forbid")
    product: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
    attempt: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    # The processor to pay through; the profile's first rail when absent (PAY-5).
    rail: Literal["stripe", "polar", "lemonsqueezy", "telegram_stars"] | None = None


# -- responses -------------------------------------------------------------------------------
class Product(Reply):
    id: str
    kind: str
    title: str
    credits: int
    amount: int
    currency: str


class Catalogue(Reply):
    products: list[Product]


class CheckoutStarted(Reply):
    """`url` is the payment provider's hosted pay page."""

    session_id: str
    url: str
    product: str


class CheckoutOutcome(Reply):
    """Stripe's names its Checkout Session; another rail's says its delivery is being processed."""

    status: str
    session_id: str | None = None
    rail: str | None = None


class LedgerEntry(Reply):
    created_at: str | None = None


class LedgerPage(Reply):
    balance: int
    entries: list[LedgerEntry]
    next_cursor: str | None


class WebhookReceipt(Reply):
    received: bool
    handled: bool


class PaymentsForReview(Reply):
    payments: list[dict]


class SuccessQuery(BaseModel):
    """Stripe's success redirect names the Checkout Session; another rail's names itself (PAY-5)."""

    session_id: str | None = Field(default=None, min_length=4, max_length=255, pattern=r"^cs_")
    rail: Literal["stripe", "polar", "lemonsqueezy", "telegram_stars"] | None = None
    checkout_id: str | None = Field(default=None, max_length=255)


class StripeEvent(BaseModel):
    """A Stripe event, verified on its raw bytes by the `Stripe-Signature` header before it is read."""

    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    data: dict


class PolarEvent(BaseModel):
    """A Polar event (Standard Webhooks), verified on its raw bytes by the `webhook-id`,
    `webhook-timestamp` and `webhook-signature` headers before it is read."""

    model_config = ConfigDict(extra="allow")
    type: str
    data: dict


class LemonSqueezyEvent(BaseModel):
    """A Lemon Squeezy event, verified on its raw bytes by the `X-Signature` header (HMAC-SHA256)."""

    model_config = ConfigDict(extra="allow")
    meta: dict
    data: dict


class TelegramUpdate(BaseModel):
    """A Telegram Bot API update, taken only with the webhook's `X-Telegram-Bot-Api-Secret-Token`."""

    model_config = ConfigDict(extra="allow")
    update_id: int
