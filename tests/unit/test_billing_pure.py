"""Pure parts of billing: the catalogue, the emulator's Stripe encoding and signatures."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from chalicelib import errors
from chalicelib.domain.catalogue import load_catalogue
from infra.emulators.stripe import decode_form, sign


def test_catalogue_has_packs_and_plans_with_stage_prices():
    catalogue = load_catalogue("local")
    starter = catalogue.get("starter")
    assert starter.kind == "pack"
    assert starter.mode == "payment"
    assert catalogue.get("monthly").mode == "subscription"
    assert catalogue.by_price(starter.price_id) == starter
    assert catalogue.by_price("price_unknown") is None
    with pytest.raises(errors.NotFound):
        catalogue.get("nope")
    assert load_catalogue("a-stage-without-prices").products == {}


def test_emulator_decodes_stripe_form_encoding():
    pairs = [
        ("mode", "payment"),
        ("line_items[0][price]", "price_a"),
        ("line_items[0][quantity]", "1"),
        ("subscription_data[metadata][user_id]", "u1"),
        ("expand[0]", "line_items"),
    ]
    assert decode_form(pairs) == {
        "mode": "payment",
        "line_items": [{"price": "price_a", "quantity": "1"}],
        "subscription_data": {"metadata": {"user_id": "u1"}},
        "expand": ["line_items"],
    }


def test_emulator_signatures_verify_with_the_stripe_sdk_and_stale_ones_do_not():
    body = json.dumps({"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}}).encode()
    secret = "whsec_unit"
    event = stripe.Webhook.construct_event(body, sign(body, secret, int(time.time())), secret, tolerance=300)
    assert event["id"] == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, sign(body, secret, int(time.time()) - 301), secret, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, sign(body, "whsec_other", int(time.time())), secret, tolerance=300)


def test_pay4_settlement_steps_take_refunds_in_proportion_and_never_twice():
    from chalicelib.domain.billing import Settlement, after_dispute_closed, after_dispute_opened, after_refund

    paid = Settlement(credits=1000, amount=1500)
    refunded, taken = after_refund(paid, 750)
    assert (taken, refunded.credits_refunded, refunded.standing) == (500, 500, 500)
    assert after_refund(refunded, 750) == (refunded, 0)  # the same refund state again
    disputed, taken = after_dispute_opened(refunded, "dp_1")
    assert (taken, disputed.standing, disputed.dispute_status) == (500, 0, "open")
    assert after_dispute_opened(disputed, "dp_1") == (disputed, 0)
    won, returned = after_dispute_closed(disputed, "dp_1", won=True)
    assert (returned, won.standing, won.dispute_status) == (500, 500, "won")
    assert after_dispute_closed(won, "dp_1", won=True) == (won, 0)
    assert after_dispute_opened(won, "dp_1") == (won, 0)  # a late "created" after the close


def test_pay4_refund_during_a_dispute_moves_credits_between_buckets_not_off_the_balance():
    from chalicelib.domain.billing import Settlement, after_dispute_closed, after_dispute_opened, after_refund

    disputed, taken = after_dispute_opened(Settlement(credits=500, amount=2000), "dp_1")
    assert taken == 500
    refunded, taken = after_refund(disputed, 1000)
    assert (taken, refunded.credits_refunded, refunded.credits_disputed) == (0, 250, 250)
    assert after_dispute_closed(refunded, "dp_1", won=True)[1] == 250
    lost, returned = after_dispute_closed(refunded, "dp_1", won=False)
    assert (returned, lost.dispute_status) == (0, "lost")


def test_pay4_dispute_already_won_when_first_seen_moves_nothing():
    from chalicelib.domain.billing import Settlement, after_dispute_closed

    settled, returned = after_dispute_closed(Settlement(credits=100, amount=500), "dp_9", won=True)
    assert (returned, settled.standing, settled.dispute_status) == (0, 100, "won")


def test_pay4_price_mismatch_compares_amount_currency_and_units_with_the_catalogue():
    from chalicelib.domain.billing import price_mismatch

    starter = load_catalogue("local").get("starter")
    assert price_mismatch(starter, amount=500, currency="EUR", quantity=1) == {}
    assert price_mismatch(starter, amount=1000, currency="eur", quantity=2) == {
        "amount": {"expected": 500, "paid": 1000},
        "quantity": {"expected": 1, "paid": 2},
    }
    assert price_mismatch(starter, amount=None, currency=None, quantity=None).keys() == {
        "amount",
        "currency",
        "quantity",
    }
