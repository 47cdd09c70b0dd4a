"""Pure parts of billing: the catalogue, the emulator's Stripe encoding and signatures."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from chalicelib import errors
from chalicelib.domain.billing import load_catalogue
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
