"""The payments port, one suite over every rail's adapter and its embedded emulator (PAY-1, PAY-2,
PAY-4, PAY-5, PAY-6): Polar, Lemon Squeezy and Telegram Stars, each reached over its own protocol
in-process, fulfilling on the in-memory ledger.

Stripe keeps its own dispute-aware flow (BillingService), not the port, but its guarantees are the
same: the tests on `any_rail` run it too (fulfilment once whatever is redelivered, refunds in
proportion in any order, forgeries refused, plan periods once, the storm). What does not fit Stripe
stays on the three rails: Stripe refunds are made at Stripe, not by the service (no ProcessorAck);
a Stripe body is signed, so the "lie" test is the forgery test; its payment records, price
mismatches and erasure calls have their own tests (tests/domain/test_billing_service.py,
tests/functional/test_processor_erasure.py); PAY-5's refusal is the rail port's."""

from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest

from chalicelib import errors
from chalicelib.domain.payment_rails import payment_id
from chalicelib.domain.ports.processors import ProcessorAck
from tests.support.rails import RAILS, rail_world, stripe_world

STARTER, STUDIO, MONTHLY = 100, 500, 1000  # credits, as the catalogue sells them


@pytest.fixture(params=RAILS)
def world(request):
    return rail_world(request.param)


@pytest.fixture(params=(*RAILS, "stripe"))
def any_rail(request, monkeypatch):
    return stripe_world(monkeypatch) if request.param == "stripe" else rail_world(request.param)


def _subscription_rails(world) -> None:
    if world.rail == "telegram_stars":
        pytest.skip("no Stars subscriptions are sold")


def test_pay4_a_paid_order_grants_its_credits_once_whatever_is_redelivered(any_rail):
    world = any_rail
    world.capturing = True
    world.buy("buyer-1", "starter")
    deliveries = list(world.captured)
    assert deliveries, "the rail sent no delivery"
    for body, headers in deliveries * 3:
        assert world.handle(body, headers) == "ok"
    assert world.ledger.balance("buyer-1") == STARTER
    assert [e.kind for e in world.ledger.movements["buyer-1"]] == ["grant"]


def test_pay4_a_refund_takes_the_credits_back_in_proportion_in_any_order(any_rail):
    world = any_rail
    world.capturing = True
    order_id = world.buy("buyer-1", "studio")
    amount, _ = world.amounts(order_id)
    partial = None if world.rail == "telegram_stars" else amount // 5  # Stars refund in full only
    ack = world.refund(order_id, partial)
    if world.rail != "stripe":  # a Stripe refund is made at Stripe; the service only reconciles it
        assert isinstance(ack, ProcessorAck)
        assert (ack.action, ack.reference, ack.ok) == ("refund", order_id, True)
    world.flush()
    deliveries = list(reversed(world.captured))  # the refund's delivery arrives before the purchase's
    for body, headers in deliveries:
        assert world.handle(body, headers) == "ok"
    expected = STUDIO - (STUDIO // 5 if partial else STUDIO)
    assert world.ledger.balance("buyer-1") == expected
    assert world.amounts(order_id) == (amount, partial or amount)


def forgeries(world, body: bytes, headers: dict) -> list[tuple[bytes, dict]]:
    """Deliveries the rail never sent: its body altered, its signature broken, or unsigned.
    Telegram signs no body (its secret token only proves the sender), so there the altered body
    goes with a wrong token; an altered body with the right token is a lie the re-fetch defeats
    (test below)."""
    tampered = body.replace(b"buyer-1", b"thief-99").replace(b"storm-", b"thief-")
    tampered = tampered if tampered != body else body + b" "
    broken = {name: value[::-1] for name, value in headers.items() if name != "Content-Type"}
    altered_headers = broken if world.rail == "telegram_stars" else headers
    return [(tampered, altered_headers), (body, broken), (body, {})]


def test_pay4_forged_tampered_and_unsigned_deliveries_are_refused_and_change_nothing(any_rail):
    world = any_rail
    world.capturing = True
    world.buy("buyer-1", "starter")
    for body, headers in world.captured:
        for forged in forgeries(world, body, headers):
            assert world.handle(*forged) == "signature_invalid"
    assert world.ledger.balances == {}
    assert world.payments.records == {}


def test_pay4_a_delivery_that_lies_about_the_buyer_or_amount_moves_nothing_it_names(world):
    """What a delivery says is never trusted: the order is re-fetched from the rail."""
    world.capturing = True
    world.buy("buyer-1", "starter")
    body, headers = world.captured[-1]
    # whole numbers only: a random charge id may hold "100" inside it, and altering the id is not a lie
    lie = re.sub(rb"(?<![0-9A-Za-z])(100|250)(?![0-9A-Za-z])", b"999", body.replace(b"buyer-1", b"thief-99"))
    assert lie != body
    if world.rail == "telegram_stars":  # the sender is Telegram: the payment it names is fetched
        assert world.handle(lie, headers) == "ok"
        assert world.ledger.balances == {"buyer-1": STARTER}
    else:  # a signed body cannot lie
        assert world.handle(lie, headers) == "signature_invalid"
        assert world.ledger.balances == {}


def test_pay1_the_payment_record_keeps_confirmation_product_and_amount_only(world):
    order_id = world.buy("buyer-1", "starter")
    stored = world.payments.payment(payment_id(world.rail, order_id))
    assert stored is not None
    assert stored.status == "paid"
    assert (stored.payment.product_id, stored.payment.credits) == ("starter", STARTER)
    assert stored.payment.amount == world.adapter.order(order_id).amount
    kept = json.dumps(dataclasses.asdict(stored), default=str).lower()
    for card_field in ("card", "last4", "brand", "exp_month", "iban", "email", "billing_address", "first_name"):
        assert card_field not in kept


def test_pay2_the_purchase_shows_on_the_ledger_with_its_payment(world):
    order_id = world.buy("buyer-1", "starter")
    (entry,) = world.ledger.movements["buyer-1"]
    assert (entry.kind, entry.amount, entry.balance_after) == ("grant", STARTER, STARTER)
    assert dict(entry.details)["payment"] == payment_id(world.rail, order_id)


def test_pay4_an_order_that_does_not_match_its_offer_grants_nothing(world):
    if world.rail == "telegram_stars":
        # Telegram asks first: the pre-checkout answer refuses a price the catalogue does not sell.
        invoice = world.emulator.call(
            "createInvoiceLink",
            {"title": "x", "payload": "starter:buyer-1", "currency": "XTR", "prices": [{"label": "x", "amount": 1}]},
        )
        paid = world.emulator.pay(invoice.rsplit("/", 1)[-1], 4242)
        assert paid["paid"] is False
        assert world.emulator.transactions == []
    else:
        offers = world.emulator.products if world.rail == "polar" else world.emulator.variants
        for offer in offers.values():
            offer["amount"] = 1
        order_id = world.buy("buyer-1", "starter")
        stored = world.payments.payment(payment_id(world.rail, order_id))
        assert stored is not None
        assert stored.status == "mismatch"
    assert world.ledger.balance("buyer-1") == 0


def test_pay4_plan_periods_grant_each_period_once(any_rail):
    world = any_rail
    _subscription_rails(world)
    world.buy("buyer-1", "monthly")
    subscription_id = next(iter(world.payments.subscriptions))
    world.emulator.renew(subscription_id)
    world.flush()
    world.emulator.renew(subscription_id)
    world.flush()
    assert world.ledger.balance("buyer-1") == 3 * MONTHLY
    assert world.payments.subscription(subscription_id).status == "active"


def test_pay6_erasure_cancels_the_subscriptions_and_deletes_the_customer(world):
    if world.rail == "telegram_stars":
        order_id = world.buy("buyer-1", "starter")
        buyer = world.adapter.order(order_id).customer_ref
        cancelled, deleted = world.billing.end_billing(world.rail, buyer)
        assert cancelled == ProcessorAck(
            "Telegram", "cancel_subscriptions", buyer, True, 0, "no Stars subscriptions are sold"
        )
        assert (deleted.reference, deleted.ok) == (buyer, True)
        return
    order_id = world.buy("buyer-1", "monthly")
    customer = world.adapter.order(order_id).customer_ref
    cancelled, deleted = world.billing.end_billing(world.rail, customer)
    assert (cancelled.action, cancelled.reference, cancelled.ok, cancelled.count) == (
        "cancel_subscriptions",
        customer,
        True,
        1,
    )
    assert (deleted.action, deleted.reference, deleted.ok) == ("delete_customer", customer, True)
    assert world.adapter.cancel_subscriptions(customer).count == 0  # nothing left to cancel
    world.flush()
    subscription_id = next(iter(world.payments.subscriptions))
    assert world.payments.subscription(subscription_id).status in ("canceled", "cancelled")
    if world.rail == "polar":
        assert world.emulator.customers[customer]["deleted_at"]
    else:
        assert world.emulator.tables["customers"][customer]["status"] == "archived"


def test_pay5_a_rail_the_profile_does_not_name_is_refused(world):
    with pytest.raises(errors.NotFound):
        world.billing.start_checkout("stripe", "buyer-1", "starter", None)
    with pytest.raises(errors.NotFound):
        world.billing.handle_delivery("stripe", b"{}", {})


STORM = 1_000


def test_pay4_a_storm_of_1000_deliveries_reaches_exact_balances_and_accepts_no_forgery(any_rail):
    """Duplicates, any order, refunds and forgeries mixed: every balance ends exactly where the
    payments and refunds say, and every forged delivery is refused."""
    world = any_rail
    world.capturing = True
    rng = random.Random(15)
    users = [f"storm-{n}" for n in range(8)]
    expected = dict.fromkeys(users, 0)
    for n in range(40):
        user, product = users[n % len(users)], ("starter", "studio")[n % 2]
        credits = STARTER if product == "starter" else STUDIO
        order_id = world.buy(user, product)
        expected[user] += credits
        if n % 5 == 0:  # refunded in full
            world.refund(order_id)
            world.flush()
            expected[user] -= credits
    genuine = list(world.captured)
    forged = [forgery for body, headers in genuine for forgery in forgeries(world, body, headers)][:300]
    batch = genuine + forged
    batch += [rng.choice(genuine) for _ in range(STORM - len(batch))]
    rng.shuffle(batch)
    assert len(batch) == STORM
    forged_ids = {id(delivery) for delivery in forged}
    answers = [(id(delivery) in forged_ids, world.handle(*delivery)) for delivery in batch]
    assert [status for is_forged, status in answers if is_forged] == ["signature_invalid"] * len(forged)
    assert {status for is_forged, status in answers if not is_forged} == {"ok"}
    assert {user: world.ledger.balance(user) for user in users} == expected
    assert not any(user.startswith("thief-") for user in world.ledger.balances)
