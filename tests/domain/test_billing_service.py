"""Billing rules on the in-memory ports: fulfilment once from every path, refunds and disputes in
proportion and in any order, lapsed holds, the ledger page (PAY-1, PAY-2, PAY-4)."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.domain.billing import BillingService, payments_for_review
from chalicelib.domain.catalogue import load_catalogue
from chalicelib.domain.ports.ledger import HoldState
from tests.fakes.billing import FakeAccountHolders, FakeLedger, FakePaymentProvider, FakePayments

STARTER = "price_local_pack_starter"


@pytest.fixture
def world():
    ledger = FakeLedger()
    payments = FakePayments(ledger)
    provider = FakePaymentProvider()
    service = BillingService(
        ledger=ledger,
        payments=payments,
        provider=lambda: provider,
        catalogue=load_catalogue("local"),
        public_base_url="https://app.example",
        accounts=FakeAccountHolders(),
    )
    return service, ledger, payments, provider


def _paid_session(provider, session_id="cs_1", *, user="u1", amount=500, quantity=1, status="paid") -> str:
    intent, charge = f"pi_{session_id}", f"ch_{session_id}"
    provider.objects[session_id] = {
        "id": session_id,
        "client_reference_id": user,
        "payment_status": status,
        "status": "complete" if status == "paid" else "open",
        "mode": "payment",
        "amount_total": amount,
        "currency": "eur",
        "payment_intent": intent,
        "customer": "cus_1",
        "line_items": {"data": [{"price": {"id": STARTER}, "quantity": quantity}]},
    }
    provider.objects[intent] = {"id": intent, "latest_charge": charge}
    provider.objects[charge] = {"id": charge, "payment_intent": intent, "amount_refunded": 0}
    return charge


def _deliver(service, event_type: str, object_id: str) -> dict:
    body = json.dumps({"id": f"evt_{object_id}", "type": event_type, "data": {"object": {"id": object_id}}})
    return service.handle_stripe_delivery(body.encode(), "valid")


def test_pay1_checkout_names_the_buyer_and_repeats_for_the_same_attempt(world):
    service, _, _, provider = world
    first = service.start_checkout("u1", "starter", "a1")
    assert service.start_checkout("u1", "starter", "a1") == first
    assert service.start_checkout("u1", "starter", "a2")["session_id"] != first["session_id"]
    request = provider.sessions_created[0]
    assert (request.user_id, request.price_ref, request.mode) == ("u1", STARTER, "payment")
    assert request.success_url.startswith("https://app.example/billing/success")
    with pytest.raises(errors.NotFound):
        service.start_checkout("u1", "no-such-pack", None)


def test_pay1_a_keyless_repeat_reuses_only_an_open_session(world, monkeypatch):
    """Without the caller's key, a retry gets the open session again; once it is paid or expired the
    next checkout is a new session, and too many in an hour ask for a key (429)."""
    service, _, _, provider = world
    first = service.start_checkout("u1", "starter", None)["session_id"]
    assert service.start_checkout("u1", "starter", None)["session_id"] == first
    provider.objects[first]["status"] = "complete"
    second = service.start_checkout("u1", "starter", None)["session_id"]
    assert second != first
    assert service.start_checkout("u1", "starter", None)["session_id"] == second
    provider.objects[second]["status"] = "expired"
    third = service.start_checkout("u1", "starter", None)["session_id"]
    assert third not in (first, second)
    assert service.start_checkout("u2", "starter", None)["session_id"] not in (first, second, third)
    monkeypatch.setattr("chalicelib.domain.billing.CHECKOUT_CHAIN_LIMIT", 3)
    provider.objects[third]["status"] = "complete"
    with pytest.raises(errors.RateLimited):
        service.start_checkout("u1", "starter", None)


def test_pay4_a_paid_session_grants_once_from_redirect_and_webhook(world):
    service, ledger, payments, provider = world
    _paid_session(provider)
    assert service.fulfill_checkout("cs_1") == {"session_id": "cs_1", "status": "paid", "granted": True}
    assert _deliver(service, "checkout.session.completed", "cs_1")["result"]["granted"] is False
    assert ledger.balance("u1") == 100
    assert payments.payment("cs_1").status == "paid"


def test_pay4_an_unpaid_or_mismatched_session_grants_nothing(world):
    service, ledger, payments, provider = world
    _paid_session(provider, "cs_open", status="unpaid")
    assert service.fulfill_checkout("cs_open")["status"] == "open"
    _paid_session(provider, "cs_cheap", amount=1)
    assert service.fulfill_checkout("cs_cheap")["status"] == "mismatch"
    assert ledger.balance("u1") == 0
    audited = []
    held = payments_for_review("op", payments=payments, audit=lambda *args: audited.append(args[1]))
    assert [(h["payment"], h["status"], h["mismatch"]["amount"]) for h in held] == [
        ("cs_cheap", "mismatch", {"expected": 500, "paid": 1})
    ]
    assert audited == ["view_payment_reviews"]


def test_pay4_refunds_take_credits_back_in_proportion_once(world):
    service, ledger, _, provider = world
    charge = _paid_session(provider)
    service.fulfill_checkout("cs_1")
    provider.objects[charge]["amount_refunded"] = 250
    _deliver(service, "charge.refunded", charge)
    _deliver(service, "charge.refunded", charge)
    assert ledger.balance("u1") == 50


@pytest.mark.parametrize("order", list(itertools.permutations(["checkout", "refund", "dispute"])))
def test_pay4_any_order_of_events_reaches_one_state(world, order):
    """Refunded half, then disputed and won: whatever order the events arrive in, 50 credits stand."""
    service, ledger, _, provider = world
    charge = _paid_session(provider)
    provider.objects[charge]["amount_refunded"] = 250
    provider.objects["dp_1"] = {"id": "dp_1", "charge": charge, "payment_intent": "pi_cs_1", "status": "won"}
    deliveries = {
        "checkout": ("checkout.session.completed", "cs_1"),
        "refund": ("charge.refunded", charge),
        "dispute": ("charge.dispute.closed", "dp_1"),
    }
    for step in order:
        _deliver(service, *deliveries[step])
    assert ledger.balance("u1") == 50
    assert sum(entry.amount for entry in ledger.entries("u1").entries) == 50


def test_pay4_a_dispute_lost_keeps_the_credits_taken(world):
    service, ledger, payments, provider = world
    charge = _paid_session(provider)
    service.fulfill_checkout("cs_1")
    provider.objects["dp_1"] = {"id": "dp_1", "charge": charge, "status": "needs_response", "created": 1}
    _deliver(service, "charge.dispute.created", "dp_1")
    assert ledger.balance("u1") == 0
    provider.objects["dp_1"]["status"] = "lost"
    _deliver(service, "charge.dispute.closed", "dp_1")
    assert ledger.balance("u1") == 0
    assert payments.payment("cs_1").settlement.dispute_status == "lost"


def test_pay4_a_forged_delivery_changes_nothing(world):
    service, ledger, _, provider = world
    _paid_session(provider)
    body = json.dumps({"id": "evt", "type": "checkout.session.completed", "data": {"object": {"id": "cs_1"}}})
    with pytest.raises(errors.SignatureInvalid):
        service.handle_stripe_delivery(body.encode(), "forged")
    assert ledger.balance("u1") == 0
    assert _deliver(service, "customer.created", "cus_1") == {"received": True, "handled": False}


def test_pay2_the_ledger_page_lists_purchases_and_usage_newest_first(world):
    service, ledger, _, provider = world
    _paid_session(provider)
    service.fulfill_checkout("cs_1")
    ledger.hold("u1", 30, "job-1", "generation")
    ledger.commit("job-1")
    page = service.ledger_page("u1")
    assert page["balance"] == 70
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in page["entries"]] == [
        ("commit", 0, 70),
        ("hold", -30, 70),
        ("grant", 100, 100),
    ]
    assert page["entries"][2]["details"] == {"payment": "cs_1", "product": "starter"}


def test_pay2_the_ledger_page_shows_the_balance_its_history_reaches_whatever_lands_meanwhile(world, monkeypatch):
    """A purchase's grant landing while the page is read (the webhook of a payment the person has
    just made) shows both the credits and their movement, or neither: never a balance that the
    history listed beside it does not reach."""
    service, ledger, _, provider = world
    _paid_session(provider)
    read_entries = ledger.entries

    def entries_then_the_webhook(*args, **kwargs):
        page = read_entries(*args, **kwargs)
        service.fulfill_checkout("cs_1")  # lands between the page's reads
        return page

    monkeypatch.setattr(ledger, "entries", entries_then_the_webhook)
    page = service.ledger_page("u1")
    shown = page["entries"][0]["balance_after"] if page["entries"] else 0
    assert page["balance"] == shown


def test_pay4_a_lapsed_hold_returns_its_credits_once_and_a_late_result_spends_nothing(world, monkeypatch):
    service, ledger, _, _ = world
    start = clock.now()
    ledger.grant("u1", 3, "g", "grant")
    ledger.hold("u1", 1, "job-1", "generation", deadline=start + timedelta(minutes=15))
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=1))
    [lapsed] = ledger.ttl_delete_lapsed()
    assert service.release_lapsed_hold(lapsed) is True
    assert service.release_lapsed_hold(lapsed) is False  # a stream record delivered twice
    assert ledger.commit("job-1") is False  # the provider's success, late
    assert ledger.hold_state("job-1") is HoldState.RELEASED
    assert ledger.balance("u1") == 3


def test_pay4_a_hold_settled_before_its_ttl_delete_is_left_alone(world):
    service, ledger, _, _ = world
    ledger.grant("u1", 3, "g", "grant")
    ledger.hold("u1", 1, "job-1", "generation")
    assert ledger.commit("job-1") is True  # success first
    assert ledger.ttl_delete_lapsed() == []  # a settled hold keeps the legal retention
    stale = ledger.holds["job-1"].hold
    assert service.release_lapsed_hold(stale) is False
    assert ledger.balance("u1") == 2


MONTHLY = "price_local_plan_monthly"
SUBSCRIPTION_EVENTS = (
    "checkout.session.completed",
    "invoice.paid",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
)


def _paid_subscription(provider, *, dispute: str, refunded: int = 750) -> dict[str, str]:
    """Stripe's final state for a monthly plan's first invoice, half refunded and disputed: every
    handler re-reads these objects, so only the order of the deliveries differs between runs."""
    intent, charge = "pi_sub", "ch_sub"
    provider.objects.update(
        {
            "cs_sub": {
                "id": "cs_sub",
                "client_reference_id": "u1",
                "payment_status": "paid",
                "status": "complete",
                "mode": "subscription",
                "amount_total": 1500,
                "currency": "eur",
                "subscription": "sub_1",
                "customer": "cus_1",
                "line_items": {"data": [{"price": {"id": MONTHLY}, "quantity": 1}]},
            },
            "sub_1": {
                "id": "sub_1",
                "status": "active",
                "metadata": {"user_id": "u1"},
                "items": {"data": [{"price": {"id": MONTHLY}, "quantity": 1}]},
            },
            "in_1": {
                "id": "in_1",
                "status": "paid",
                "billing_reason": "subscription_create",
                "amount_paid": 1500,
                "currency": "eur",
                "customer": "cus_1",
                "payment_intent": intent,
                "parent": {"subscription_details": {"subscription": "sub_1"}},
            },
            intent: {"id": intent, "latest_charge": charge},
            charge: {"id": charge, "payment_intent": intent, "amount_refunded": refunded},
            "dp_sub": {"id": "dp_sub", "charge": charge, "payment_intent": intent, "status": dispute, "created": 1},
        }
    )
    return {
        "checkout.session.completed": "cs_sub",
        "invoice.paid": "in_1",
        "charge.refunded": charge,
        "charge.dispute.created": "dp_sub",
        "charge.dispute.closed": "dp_sub",
    }


def _final_state(ledger, payments) -> dict:
    stored = payments.payment("in_1")
    return {
        "balance": ledger.balance("u1"),
        "unrecovered": ledger.unrecovered("u1"),
        "entries": [(e.kind, e.amount, e.reason, e.balance_after) for e in ledger.entries("u1").entries],
        "settlement": stored.settlement if stored else None,
    }


@pytest.mark.parametrize(("dispute", "balance"), [("won", 500), ("lost", 0)])
def test_pay4_every_order_of_a_subscription_payments_events_ends_in_one_state(dispute, balance):
    """All 120 orders of {checkout completed, invoice paid, charge refunded, dispute created, dispute
    closed} for one subscription payment, each on fresh ports, end in one state (PAY-4)."""
    states = {}
    for order in itertools.permutations(SUBSCRIPTION_EVENTS):
        ledger = FakeLedger()
        payments = FakePayments(ledger)
        provider = FakePaymentProvider()
        service = BillingService(
            ledger=ledger,
            payments=payments,
            provider=lambda provider=provider: provider,
            catalogue=load_catalogue("local"),
            public_base_url="https://app.example",
            accounts=FakeAccountHolders(),
        )
        objects = _paid_subscription(provider, dispute=dispute)
        for event_type in order:
            _deliver(service, event_type, objects[event_type])
        states[order] = _final_state(ledger, payments)
    assert len(states) == 120
    first = next(iter(states.values()))
    assert first["balance"] == balance
    assert first["settlement"].refunded_amount == 750
    different = [order for order, state in states.items() if state != first]
    assert different == [], (first, states[different[0]] if different else None)


def test_pay6_an_invoice_paid_after_erasure_grants_nothing():
    """PAY-6: a late `invoice.paid` for an erased subscriber brings no balance back under their id."""
    ledger, provider, accounts = FakeLedger(), FakePaymentProvider(), FakeAccountHolders()
    payments = FakePayments(ledger)
    service = BillingService(
        ledger=ledger,
        payments=payments,
        provider=lambda: provider,
        catalogue=load_catalogue("local"),
        public_base_url="https://app.example",
        accounts=accounts,
    )
    objects = _paid_subscription(provider, dispute="won", refunded=0)
    accounts.erased.add("u1")
    assert _deliver(service, "invoice.paid", objects["invoice.paid"])["result"]["granted"] is False
    assert ledger.balance("u1") == 0
    assert ledger.entries("u1").entries == ()
    accounts.erased.clear()  # the same delivery for a live account grants (the check is what refuses)
    assert _deliver(service, "invoice.paid", objects["invoice.paid"])["result"]["granted"] is True
