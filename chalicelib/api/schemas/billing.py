"""Request models of the billing routes (PAY-1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckoutRequest(BaseModel):
    """`attempt` is the caller's idempotency key (or its Idempotency-Key header): the same key, the
    same session. Without one, a repeat reuses the buyer's session only while it is open."""

    model_config = ConfigDict(extra="forbid")
    product: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
    attempt: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    # The processor to pay through; the profile's first rail when absent (PAY-5).
    rail: Literal["stripe", "polar", "lemonsqueezy", "telegram_stars"] | None = None
