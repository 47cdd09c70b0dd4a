"""Reaction to TTL deletes of ledger records (registered in chalicelib/events/reactions.py).

A hold's TTL is its lapse: deleted while still held, its credits return, once (PAY-4).
"""

from __future__ import annotations


def expired_hold(image: dict) -> None:
    from chalicelib import wiring

    hold = wiring.ledger().lapsed_hold(image)
    if hold is not None:
        wiring.billing_service().release_lapsed_hold(hold)
