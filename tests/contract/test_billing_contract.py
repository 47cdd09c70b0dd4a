"""The ledger and payment-record ports, run against the in-memory fakes and the DynamoDB stores
(PAY-1, PAY-2, PAY-3, PAY-4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock, errors
from chalicelib.domain.ports.billing import Payment, Settlement
from chalicelib.domain.ports.ledger import CreditMovement, Hold, HoldState


@dataclass
class Ports:
    ledger: Any
    payments: Any
    ttl_delete: Callable[[str], Hold | None]  # DynamoDB's TTL delete of a hold: its last image


def _fake() -> Ports:
    from tests.fakes.billing import FakeLedger, FakePayments

    ledger = FakeLedger()
    payments = FakePayments(ledger)

    def ttl_delete(hold_id: str) -> Hold | None:
        record = ledger.holds.pop(hold_id, None)
        return record.hold if record else None

    return Ports(ledger, payments, ttl_delete)


def _dynamodb(aws) -> Ports:
    from boto3.dynamodb.types import TypeDeserializer

    from chalicelib import wiring
    from chalicelib.settings import get_settings

    ledger = wiring.ledger()

    def ttl_delete(hold_id: str) -> Hold | None:
        key = {"pk": {"S": f"HOLD#{hold_id}"}, "sk": {"S": "HOLD"}}
        table = get_settings().table_name("ledger")
        old = aws.client("dynamodb").delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD").get("Attributes")
        deserializer = TypeDeserializer()
        return (
            ledger.lapsed_hold({name: deserializer.deserialize(value) for name, value in old.items()}) if old else None
        )

    return Ports(ledger, wiring.payments(), ttl_delete)


@pytest.fixture(params=["fake", "dynamodb"])
def ports(request) -> Ports:
    if request.param == "fake":
        return _fake()
    return _dynamodb(request.getfixturevalue("aws"))


def _total(ledger, user_id: str) -> int:
    total, cursor = 0, None
    while True:
        page = ledger.entries(user_id, limit=3, cursor=cursor)
        total += sum(entry.amount for entry in page.entries)
        cursor = page.next_cursor
        if cursor is None:
            return total


PACK = Payment(
    stripe_id="cs_1",
    user_id="u1",
    kind="pack",
    product_id="starter",
    mode="payment",
    credits=100,
    amount=500,
    currency="eur",
    session_id="cs_1",
    payment_intent_id="pi_1",
    customer_id="cus_1",
)
GRANT = CreditMovement("stripe:payment:cs_1", "purchase", 100, (("payment", "cs_1"),))


# -- ledger ---------------------------------------------------------------------------------------
def test_grant_applies_each_business_key_once(ports):
    ledger = ports.ledger
    assert ledger.grant("u1", 10, "k1", "grant", {"note": "x"}) is True
    assert ledger.grant("u1", 10, "k1", "grant") is False
    assert ledger.balance("u1") == 10
    [entry] = ledger.entries("u1").entries
    assert (entry.sequence, entry.balance_after, entry.kind, entry.amount, entry.reference) == (
        1,
        10,
        "grant",
        10,
        "k1",
    )
    assert entry.details == (("note", "x"),)


def test_amounts_must_be_positive_whole_numbers(ports):
    for amount in (0, -1, True):
        with pytest.raises(errors.InvalidInput):
            ports.ledger.grant("u1", amount, f"k{amount}", "bad")
        with pytest.raises(errors.InvalidInput):
            ports.ledger.hold("u1", amount, f"h{amount}", "bad")


def test_claw_back_stops_at_zero_and_records_the_shortfall_once(ports):
    ledger = ports.ledger
    ledger.grant("u1", 4, "k1", "grant")
    assert ledger.claw_back("u1", 10, "refund:1", "refund") == (4, 6)
    assert ledger.claw_back("u1", 10, "refund:1", "refund") is None
    assert (ledger.balance("u1"), ledger.unrecovered("u1")) == (0, 6)
    assert ledger.entries("u1").entries[0].shortfall == 6


def test_a_hold_never_overdraws_and_a_repeated_one_charges_nothing(ports):
    ledger = ports.ledger
    ledger.grant("u1", 5, "k1", "grant")
    ledger.hold("u1", 3, "h1", "generation")
    ledger.hold("u1", 3, "h1", "generation")
    assert ledger.balance("u1") == 2
    with pytest.raises(errors.InsufficientCredits):
        ledger.hold("u1", 3, "h2", "generation")
    assert ledger.hold_state("h2") is None
    assert ledger.hold_state("h1") is HoldState.HELD


def test_commit_and_release_settle_a_hold_once(ports):
    ledger = ports.ledger
    ledger.grant("u1", 10, "k1", "grant")
    ledger.hold("u1", 4, "a", "generation")
    ledger.hold("u1", 3, "b", "generation")
    assert (ledger.commit("a"), ledger.commit("a"), ledger.release("a")) == (True, False, False)
    assert (ledger.release("b"), ledger.release("b"), ledger.commit("b")) == (True, False, False)
    assert ledger.commit("unknown") is False
    assert ledger.hold_state("a") == "committed"
    assert ledger.hold_state("b") == "released"
    assert ledger.balance("u1") == 6 == _total(ledger, "u1")


def test_a_hold_past_its_lapse_can_only_be_released(ports, monkeypatch):
    ledger = ports.ledger
    start = clock.now()
    ledger.grant("u1", 5, "k1", "grant")
    ledger.hold("u1", 2, "h1", "generation", deadline=start + timedelta(minutes=15))
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=30))
    assert ledger.hold_state("h1") == "held"  # within the margin: still spendable
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=2))
    assert ledger.commit("h1") is False
    assert ledger.hold_state("h1") == "released"
    assert ledger.balance("u1") == 5 == _total(ledger, "u1")


def test_a_hold_deleted_by_its_ttl_is_restored_as_released_once(ports):
    ledger = ports.ledger
    ledger.grant("u1", 5, "k1", "grant")
    ledger.hold("u1", 2, "h1", "generation")
    lapsed = ports.ttl_delete("h1")
    assert lapsed == Hold("h1", "u1", 2, HoldState.HELD, "generation")
    assert ledger.restore_lapsed(lapsed) is True
    assert ledger.restore_lapsed(lapsed) is False  # the stream delivers at least once
    assert ledger.hold_state("h1") == "released"
    assert ledger.commit("h1") is False
    assert ledger.balance("u1") == 5 == _total(ledger, "u1")
    assert dict(ledger.entries("u1").entries[0].details) == {"held": 2, "lapsed": True}


def test_entries_are_newest_first_paged_and_bound_to_their_account(ports):
    ledger = ports.ledger
    for n in range(5):
        ledger.grant("u1", n + 1, f"g{n}", f"grant {n}")
    first = ledger.entries("u1", limit=3)
    second = ledger.entries("u1", limit=3, cursor=first.next_cursor)
    assert [e.amount for e in first.entries + second.entries] == [5, 4, 3, 2, 1]
    assert [e.balance_after for e in second.entries] == [3, 1]
    with pytest.raises(errors.InvalidInput):
        ledger.entries("u2", cursor=first.next_cursor)
    with pytest.raises(errors.InvalidInput):
        ledger.entries("u1", cursor="not-a-cursor")


def test_pay2_the_newest_entry_carries_the_balance_after_every_kind_of_movement(ports):
    """The ledger page shows the balance its newest movement left (domain/billing.py): every
    movement, of every kind, must leave the balance in its entry."""
    ledger = ports.ledger
    movements = [
        lambda: ledger.grant("u1", 10, "k1", "grant"),
        lambda: ledger.hold("u1", 4, "a", "generation"),
        lambda: ledger.commit("a"),
        lambda: ledger.hold("u1", 3, "b", "generation"),
        lambda: ledger.release("b"),
        lambda: ledger.hold("u1", 2, "c", "generation"),
        lambda: ledger.restore_lapsed(ports.ttl_delete("c")),
        lambda: ledger.claw_back("u1", 9, "refund:1", "refund"),
    ]
    for move in movements:
        move()
        assert ledger.entries("u1", limit=1).entries[0].balance_after == ledger.balance("u1")
    assert ledger.balance("u1") == 0


# -- payment records ------------------------------------------------------------------------------
def test_fulfil_records_the_payment_and_grants_once(ports):
    payments, ledger = ports.payments, ports.ledger
    assert payments.fulfil(PACK, GRANT) is True
    assert payments.fulfil(PACK, GRANT) is False
    assert ledger.balance("u1") == 100
    stored = payments.payment("cs_1")
    assert (stored.status, stored.payment, stored.settlement) == ("paid", PACK, Settlement(credits=100, amount=500))
    assert stored.paid_at is not None
    assert payments.payment_for_intent("pi_1") == stored
    assert payments.payment_for_intent("pi_other") is None


def test_mark_never_downgrades_a_paid_payment_and_lists_mismatches(ports):
    payments = ports.payments
    other = Payment("cs_2", "u2", "pack", "starter", "payment", 100, 9, "usd", session_id="cs_2")
    assert payments.mark(other, "mismatch", mismatch={"amount": {"expected": 500, "paid": 9}}) is True
    assert payments.mark(other, "mismatch", mismatch={"amount": {"expected": 500, "paid": 9}}) is False
    assert [held.payment.stripe_id for held in payments.held_for_review()] == ["cs_2"]
    assert '"paid": 9' in payments.held_for_review()[0].mismatch
    payments.fulfil(PACK, GRANT)
    assert payments.mark(PACK, "failed") is False
    assert payments.payment("cs_1").status == "paid"
    assert payments.payment("cs_missing") is None


def test_settle_applies_a_step_only_from_the_settlement_it_was_computed_from(ports):
    payments, ledger = ports.payments, ports.ledger
    payments.fulfil(PACK, GRANT)
    before = payments.payment("cs_1").settlement
    refunded = Settlement(credits=100, amount=500, refunded_amount=250, credits_refunded=50)
    take = CreditMovement("stripe:refund:ch_1:250", "refund", 50, (("payment", "cs_1"),))
    assert payments.settle("cs_1", before, refunded, take) == 50
    assert payments.settle("cs_1", before, refunded, take) is None  # the payment moved on
    assert payments.payment("cs_1").settlement == refunded
    assert ledger.balance("u1") == 50
    disputed = Settlement(100, 500, 250, 50, credits_disputed=50, dispute_id="dp_1", dispute_status="open")
    assert payments.settle("cs_1", refunded, disputed, CreditMovement("stripe:dispute:dp_1:opened", "d", 50)) == 50
    won = Settlement(100, 500, 250, 50, dispute_id="dp_1", dispute_status="won")
    back = CreditMovement("stripe:dispute:dp_1:won", "dispute won", 50, returning=True)
    assert payments.settle("cs_1", disputed, won, back) == 50
    assert ledger.balance("u1") == 50 == _total(ledger, "u1")
    assert payments.settle("cs_missing", before, refunded, None) is None


def test_subscriptions_are_tracked_by_id(ports):
    payments = ports.payments
    assert payments.subscription("sub_1") is None
    payments.track_subscription("sub_1", "u1", "monthly", "active")
    payments.track_subscription("sub_1", "u1", "monthly", "canceled")
    found = payments.subscription("sub_1")
    assert (found.subscription_id, found.plan, found.status) == ("sub_1", "monthly", "canceled")
