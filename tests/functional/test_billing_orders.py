"""PAY-4: the events of one subscription payment, delivered in any order and any number of times,
leave one final state: balance, ledger entries and payment record.

Stripe's state is final before the first delivery (as when deliveries were delayed or retried), so
every handler sees the same objects; only the order and the duplicates differ.
"""

from __future__ import annotations

import itertools
import random

import pytest

from chalicelib import wiring
from chalicelib.domain import billing
from tests.functional.test_billing_checkout import checkout, stripe_local  # noqa: F401  (fixture)


@pytest.fixture
def profile_name():
    return "pixera"  # a profile whose policy names Stripe (PAY-5)


PAYMENT_EVENTS = (
    "checkout.session.completed",
    "invoice.paid",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
)
REFUNDED = 750  # of the plan's 1500


def _subscription_payment(emulator, user_id: str, *, refund: int | None, dispute: str | None) -> dict:
    """Pay the monthly plan, then refund and dispute its first invoice's charge as asked.
    Returns the Stripe ids (for naming) and the payment's events, keyed by type."""
    session_id = checkout(user_id, "monthly")
    emulator.pay(session_id)
    subscription_id = emulator.objects[session_id]["subscription"]
    invoice = next(
        o
        for o in emulator.objects.values()
        if o["object"] == "invoice" and o["parent"]["subscription_details"]["subscription"] == subscription_id
    )
    intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    charge_id = emulator.objects[intent]["latest_charge"]
    ids = {session_id: "SESSION", subscription_id: "SUBSCRIPTION", invoice["id"]: "INVOICE", charge_id: "CHARGE"}
    ids[intent] = "INTENT"
    if refund:
        emulator.refund(charge_id, refund)
    if dispute:
        opened = emulator.dispute(charge_id)
        ids[opened["id"]] = "DISPUTE"
        if dispute != "open":
            emulator.close_dispute(opened["id"], dispute)
    events, emulator.pending = emulator.pending, []
    by_type = {e["type"]: e for e in events if e["type"] in PAYMENT_EVENTS}
    return {"ids": ids, "events": by_type, "invoice": invoice["id"], "customer": invoice["customer"]}


def _empty_ledger(aws) -> None:
    """Each order pays with its own Stripe objects; emptying the table between orders only keeps
    moto fast (it copies a table for every transaction)."""
    from chalicelib.store.models.ledger import CreditBalance

    table = aws.resource("dynamodb").Table(CreditBalance.Meta.table_name)
    items = table.scan(ProjectionExpression="pk, sk")["Items"]
    with table.batch_writer() as batch:
        for key in items:
            batch.delete_item(Key=key)


def _deliver(emulator, events: list[dict]) -> None:
    emulator.pending = list(events)
    assert {status for _, status in emulator.flush()} == {200}


def _named(value, ids: dict[str, str]):
    if isinstance(value, dict):
        return {k: _named(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, ids) for v in value]
    if isinstance(value, str):
        for stripe_id, name in ids.items():
            value = value.replace(stripe_id, name)
    return value


def _final_state(user_id: str, payment: dict) -> dict:
    """Everything a payment leaves behind, with times dropped and Stripe ids replaced by names."""
    ledger = wiring.ledger()
    entries = [billing.entry_view(entry) for entry in ledger.entries(user_id, limit=200).entries]
    stored = wiring.payments().payment(payment["invoice"])
    record = billing.payment_view(stored) if stored else {}
    ids = {**payment["ids"], user_id: "USER"}
    return _named(
        {
            "balance": ledger.balance(user_id),
            "unrecovered": ledger.unrecovered(user_id),
            "entries": [{k: v for k, v in e.items() if k != "at"} for e in entries],
            "payment": {k: v for k, v in record.items() if k not in ("created_at", "paid_at")},
        },
        ids,
    )


def test_pay4_refund_delivered_before_its_subscription_invoice_is_not_lost(stripe_local):  # noqa: F811
    payment = _subscription_payment(stripe_local, "u-refund-first", refund=REFUNDED, dispute=None)
    events = payment["events"]
    order = ["charge.refunded", "invoice.paid", "checkout.session.completed"]
    _deliver(stripe_local, [events[t] for t in order])
    assert wiring.ledger().balance("u-refund-first") == 500
    settlement = wiring.payments().payment(payment["invoice"]).settlement
    assert (settlement.refunded_amount, settlement.credits_refunded) == (REFUNDED, 500)


@pytest.mark.parametrize(("dispute", "balance", "every"), [("won", 500, 5), ("lost", 0, 5)])
def test_pay4_every_order_of_a_subscription_payments_events_ends_in_one_state(
    aws,
    stripe_local,  # noqa: F811
    dispute,
    balance,
    every,
):
    """Every fifth of the 120 orders of {checkout completed, invoice paid, charge refunded, dispute
    created, dispute closed}, one fresh buyer each, through Stripe's protocol and DynamoDB. All 120
    run on the in-memory ports in tests/domain/test_billing_service.py (moto copies the table and
    its stream for every transaction, so each order here costs more than the last)."""
    states = {}
    for n, order in enumerate(list(itertools.permutations(PAYMENT_EVENTS))[::every]):
        user_id = f"u-{dispute}-{n}"
        payment = _subscription_payment(stripe_local, user_id, refund=REFUNDED, dispute=dispute)
        _deliver(stripe_local, [payment["events"][t] for t in order])
        states[order] = _final_state(user_id, payment)
        _empty_ledger(aws)
    first = next(iter(states.values()))
    assert first["balance"] == balance
    assert first["payment"]["refunded_amount"] == REFUNDED
    assert first["payment"]["dispute_status"] == dispute
    different = [order for order, state in states.items() if state != first]
    assert different == [], (first, states[different[0]] if different else None)


def test_pay4_duplicated_shuffled_deliveries_of_a_subscription_payment_end_in_the_same_state(aws, stripe_local):  # noqa: F811
    """Each event delivered one to three times, shuffled, against the state of a single ordered pass."""
    rng = random.Random(4)
    reference = _subscription_payment(stripe_local, "u-reference", refund=REFUNDED, dispute="won")
    _deliver(stripe_local, [reference["events"][t] for t in PAYMENT_EVENTS])
    expected = _final_state("u-reference", reference)
    assert expected["balance"] == 500
    for n in range(12):
        user_id = f"u-dup-{n}"
        payment = _subscription_payment(stripe_local, user_id, refund=REFUNDED, dispute="won")
        deliveries = [e for e in payment["events"].values() for _ in range(rng.randint(1, 3))]
        rng.shuffle(deliveries)
        _deliver(stripe_local, deliveries)
        assert _final_state(user_id, payment) == expected, n
        _empty_ledger(aws)
