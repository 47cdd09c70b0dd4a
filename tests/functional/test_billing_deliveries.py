"""PAY-4 under Stripe's delivery semantics: 1,000 webhook deliveries with duplicates, reordering,
forged, stale, unsigned and tampered signatures, plus success redirects racing the webhooks.
Every balance must equal the figure computed independently from Stripe's final state."""

from __future__ import annotations

import json
import random
import time

import pytest

from chalicelib import wiring
from infra.emulators.stripe import sign
from tests.functional.test_billing_checkout import stripe_local  # noqa: F401  (fixture)
from tests.support.auth import account_for


@pytest.fixture
def profile_name():
    return "pixera"  # a profile whose policy names Stripe (PAY-5)


DELIVERIES = 1000
BAD_SHARE = 0.2


def _expected_balances(emulator, sessions: dict[str, str], catalogue) -> dict[str, int]:
    """From Stripe's final state alone: what each buyer should hold."""
    expected = {user: 0 for user in sessions.values()}
    objects = emulator.objects
    for session_id, user in sessions.items():
        session = objects[session_id]
        product = catalogue.by_price(session["_line_items"][0]["price"])
        if session["payment_status"] != "paid":
            continue
        if product.kind == "plan":
            invoices = [
                o
                for o in objects.values()
                if o["object"] == "invoice"
                and o["parent"]["subscription_details"]["subscription"] == session["subscription"]
            ]
            expected[user] += product.credits * len(invoices)
            continue
        charge = objects[objects[session["payment_intent"]]["latest_charge"]]
        disputes = [o for o in objects.values() if o["object"] == "dispute" and o["charge"] == charge["id"]]
        if any(d["status"] != "won" for d in disputes):
            continue  # a standing or lost chargeback takes back everything
        expected[user] += product.credits - product.credits * charge["amount_refunded"] // charge["amount"]
    return expected


def _bad_copy(rng: random.Random, event: dict, secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    now = int(time.time())
    kind = rng.choice(["forged", "stale", "unsigned", "tampered", "wrong_scheme"])
    if kind == "forged":
        return body, {"Stripe-Signature": sign(body, "whsec_attacker", now)}
    if kind == "stale":
        return body, {"Stripe-Signature": sign(body, secret, now - 301 - rng.randrange(3600))}
    if kind == "wrong_scheme":
        return body, {"Stripe-Signature": sign(body, secret, now).replace("v1=", "v0=")}
    if kind == "unsigned":
        return body, {}
    tampered = json.loads(body)
    tampered["data"]["object"]["client_reference_id"] = "attacker"
    return json.dumps(tampered).encode(), {"Stripe-Signature": sign(body, secret, now)}


def test_pay4_thousand_deliveries_duplicated_reordered_and_forged_leave_exact_balances(stripe_local, client):  # noqa: F811
    emulator = stripe_local
    rng = random.Random(20261122)
    catalogue = wiring.catalogue()
    users = [f"buyer-{n}" for n in range(12)]
    sessions: dict[str, str] = {}
    for n in range(70):
        user = rng.choice(users)
        product = rng.choice(["starter", "studio", "starter", "studio", "monthly"])
        session_id = wiring.billing_service().start_checkout(account_for(user), product, f"attempt-{n}")["session_id"]
        sessions[session_id] = user
        fate = rng.random()
        if fate < 0.08:
            continue  # abandoned: stays open
        if fate < 0.14:
            emulator.expire(session_id)
            continue
        asynchronous = fate < 0.3
        paid = emulator.pay(session_id, asynchronous=asynchronous, fail=asynchronous and fate < 0.2)
        if paid["subscription"]:
            for _ in range(rng.randrange(3)):
                emulator.renew(paid["subscription"])
            continue
        if paid["payment_status"] != "paid":
            continue
        charge = emulator.objects[emulator.objects[paid["payment_intent"]]["latest_charge"]]
        if rng.random() < 0.3:
            emulator.refund(charge["id"], rng.randrange(1, charge["amount"]))
        if rng.random() < 0.15:
            emulator.refund(charge["id"])
        if rng.random() < 0.2:
            dispute = emulator.dispute(charge["id"])
            outcome = rng.choice(["won", "lost", None])
            if outcome:
                emulator.close_dispute(dispute["id"], outcome)

    events, emulator.pending = emulator.pending, []
    bad_count = int(DELIVERIES * BAD_SHARE)
    valid = events + [rng.choice(events) for _ in range(DELIVERIES - bad_count - len(events))]
    deliveries = [("good", e) for e in valid] + [("bad", rng.choice(events)) for _ in range(bad_count)]
    rng.shuffle(deliveries)
    assert len(deliveries) == DELIVERIES

    outcomes = {"good": [], "bad": []}
    for n, (kind, event) in enumerate(deliveries):
        if kind == "good":
            body = json.dumps(event).encode()
            headers = {"Stripe-Signature": sign(body, emulator.webhook_secret, int(time.time()))}
        else:
            body, headers = _bad_copy(rng, event, emulator.webhook_secret)
        response = client.http.post("/webhooks/stripe", body=body, headers=headers)
        outcomes[kind].append(response.status_code)
        if n % 50 == 0:  # the success redirect races the webhooks
            client.http.get(f"/billing/success?session_id={rng.choice(list(sessions))}")

    assert set(outcomes["bad"]) == {400}
    assert set(outcomes["good"]) == {200}
    expected = _expected_balances(emulator, sessions, catalogue)
    ledger = wiring.ledger()
    actual = {user: ledger.balance(user) for user in expected}
    assert actual == expected
    assert sum(expected.values()) > 0
    for user in expected:
        assert ledger.unrecovered(user) == 0
        entries = ledger.entries(user, limit=200).entries
        assert sum(e.amount for e in entries) == actual[user]
