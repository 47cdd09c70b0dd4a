"""What a processor answers when asked to erase, delete or refund (GEN-5, PAY-6): one shape for
every payment rail, Stripe and every model provider."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessorAck:
    """A processor's answer to an erasure, deletion or refund call (PAY-6, GEN-5): which processor,
    what was asked, for which of its objects (`reference`: a customer, an order, a request), whether
    it is done, how many objects it touched and what it said. Every rail, Stripe and every model
    provider answer in this one shape; the receipt lists them without `reference` or `detail`."""

    processor: str
    action: str
    reference: str
    ok: bool
    count: int = 0
    detail: str = ""
