"""Checkout through the embedded Stripe: sessions, fulfilment from redirect and webhook, refunds,
disputes and subscriptions (PAY-1, PAY-2, PAY-3, PAY-4)."""

from __future__ import annotations

import re

import pytest

from chalicelib import wiring
from chalicelib.domain import billing
from tests.support.auth import account_for
from tests.support.paging import owned_items


@pytest.fixture
def profile_name():
    return "pixera"  # a profile whose policy names Stripe (PAY-5)


CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){13,19}\b")
CARD_FIELDS = ["cvc", "cvv", "exp_month", "exp_year", "card_number", '"last4"', "fingerprint"]


def luhn_valid(digits: str) -> bool:
    numbers = [int(d) for d in digits if d.isdigit()]
    checksum = 0
    for index, digit in enumerate(reversed(numbers)):
        if index % 2:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        checksum += digit
    return checksum % 10 == 0


@pytest.fixture
def stripe_local(aws, client, monkeypatch):
    from tests.support.stripe import running_emulator

    def deliver(body: bytes, headers: dict[str, str]) -> int:
        return client.http.post("/webhooks/stripe", body=body, headers=headers).status_code

    with running_emulator(monkeypatch, deliver) as emulator:
        yield emulator


def payment(stripe_id: str) -> dict | None:
    stored = wiring.payments().payment(stripe_id)
    return billing.payment_view(stored) if stored else None


def checkout(user_id: str, product: str, attempt: str = "a1") -> str:
    """A Checkout Session started by the account `user_id` (made if it does not exist yet)."""
    return wiring.billing_service().start_checkout(account_for(user_id), product, attempt)["session_id"]


def test_checkout_session_is_idempotent_and_names_its_buyer(stripe_local):
    first = checkout("u1", "starter")
    assert checkout("u1", "starter") == first  # a retried request: same session
    assert checkout("u1", "starter", attempt="a2") != first
    session = wiring.stripe().checkout_session(first)
    assert session.user_id == "u1"
    assert session.price_ref == wiring.catalogue().get("starter").price_id
    assert (session.quantity, session.paid, session.status) == (1, False, "open")


def test_pay4_webhook_and_redirect_together_grant_once(stripe_local, client):
    session_id = checkout("u1", "starter")
    stripe_local.pay(session_id)
    stripe_local.duplicate_rate = 1.0
    redirect = client.http.get(f"/billing/success?session_id={session_id}")
    assert redirect.status_code == 200
    assert redirect.json_body["status"] == "paid"
    assert [status for _, status in stripe_local.flush()] == [200, 200]
    client.http.get(f"/billing/success?session_id={session_id}")
    assert wiring.ledger().balance("u1") == 100
    assert payment(session_id)["status"] == "paid"


def test_pay4_unpaid_session_grants_nothing_until_paid(stripe_local):
    session_id = checkout("u1", "starter")
    assert wiring.billing_service().fulfill_checkout(session_id)["status"] == "open"
    stripe_local.pay(session_id, asynchronous=True)
    pending = wiring.billing_service().fulfill_checkout(session_id)
    assert pending["status"] == "paid"  # the emulator settles the delayed method at once
    failed_session = checkout("u2", "starter")
    stripe_local.pay(failed_session, asynchronous=True, fail=True)
    stripe_local.flush()
    expired = checkout("u3", "starter")
    stripe_local.expire(expired)
    stripe_local.flush()
    assert wiring.ledger().balance("u2") == 0
    assert payment(failed_session)["status"] == "failed"
    assert payment(expired)["status"] == "expired"
    assert wiring.ledger().balance("u3") == 0


def test_pay4_refund_takes_credits_back_in_proportion_once(stripe_local):
    session_id = checkout("u1", "studio")
    charge = stripe_local.retrieve(stripe_local.pay(session_id)["payment_intent"])["latest_charge"]
    stripe_local.refund(charge, 500)  # a quarter of 2000
    stripe_local.refund(charge, 500)
    stripe_local.duplicate_rate = 1.0
    stripe_local.reorder = True
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 250
    stripe_local.refund(charge)
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 0


def test_pay4_refund_of_spent_credits_stops_at_zero_and_records_the_shortfall(stripe_local):
    session_id = checkout("u1", "starter")
    stripe_local.pay(session_id)
    stripe_local.flush()
    ledger = wiring.ledger()
    ledger.hold("u1", 60, "job-1", "generation")
    ledger.commit("job-1")
    stripe_local.refund(stripe_local.retrieve(stripe_local.retrieve(session_id)["payment_intent"])["latest_charge"])
    stripe_local.flush()
    assert ledger.balance("u1") == 0
    assert ledger.unrecovered("u1") == 60


def test_pay4_dispute_takes_credits_and_a_won_dispute_returns_them(stripe_local):
    session_id = checkout("u1", "starter")
    charge = stripe_local.retrieve(stripe_local.pay(session_id)["payment_intent"])["latest_charge"]
    stripe_local.flush()
    dispute = stripe_local.dispute(charge)
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 0
    stripe_local.close_dispute(dispute["id"], "won")
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 100
    lost = stripe_local.dispute(charge)
    stripe_local.close_dispute(lost["id"], "lost")
    stripe_local.reorder = True
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 0


def test_pay4_subscription_periods_grant_once_per_invoice(stripe_local):
    session_id = checkout("u1", "monthly")
    stripe_local.pay(session_id)
    subscription_id = stripe_local.retrieve(session_id)["subscription"]
    stripe_local.renew(subscription_id)
    stripe_local.duplicate_rate = 1.0
    stripe_local.reorder = True
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 2000
    stripe_local.cancel(subscription_id)
    stripe_local.flush()
    assert wiring.payments().subscription(subscription_id).status == "canceled"


def test_pay2_purchases_and_usage_are_listed_in_the_ledger(stripe_local):
    session_id = checkout("u1", "starter")
    stripe_local.pay(session_id)
    stripe_local.flush()
    wiring.ledger().hold("u1", 30, "job-1", "generation")
    wiring.ledger().commit("job-1")
    page = wiring.billing_service().ledger_page("u1")
    assert page["balance"] == 70
    assert [(e["kind"], e["amount"]) for e in page["entries"]] == [("commit", 0), ("hold", -30), ("grant", 100)]
    assert page["entries"][2]["details"]["payment"] == session_id


def test_pay1_no_card_data_in_any_store_after_checkouts(aws, stripe_local):
    from chalicelib.settings import get_settings
    from infra.description import describe
    from tests.support.scan import find, stored_texts

    for n, product in enumerate(["starter", "studio", "monthly"]):
        stripe_local.pay(checkout(f"u{n}", product))
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 500
    description = describe(get_settings(), wiring.profile())
    assert find(aws, description, CARD_FIELDS) == []
    numbers = [m.group() for f in stored_texts(aws, description) for m in CARD_NUMBER.finditer(f.text)]
    assert [n for n in numbers if luhn_valid(n)] == []


def test_pay3_payment_record_outlives_erasure_without_personal_data(aws, stripe_local):
    from chalicelib.settings import get_settings
    from infra.description import describe
    from tests.support.scan import find

    session_id = checkout("user-erased-1", "starter")
    stripe_local.pay(session_id)
    stripe_local.flush()
    customer = stripe_local.retrieve(session_id)["customer"]
    record = payment(session_id)
    assert record["user_id"] == "user-erased-1"
    from tests.support.rights import detach_owned

    personal = wiring.personal_data()  # the account goes as erasure deletes it
    for table in ("accounts",):
        personal.delete_items(
            table, [item.key for item in owned_items(personal, "user-erased-1") if item.table == table]
        )
    assert detach_owned(wiring.rights_service().context, "user-erased-1", "erased-7f3a", None) > 0
    kept = payment(session_id)
    assert kept["status"] == "paid"
    assert kept["amount"] == 500
    assert kept["user_id"] == "erased-7f3a"
    assert find(aws, describe(get_settings(), wiring.profile()), ["user-erased-1", customer]) == []


def test_pay3_payment_records_expire_after_the_legal_period(stripe_local):
    from chalicelib.store.models.ledger import PaymentRecord

    session_id = checkout("u1", "starter")
    stripe_local.pay(session_id)
    stripe_local.flush()
    record = PaymentRecord.get(*PaymentRecord.key(session_id))
    days = wiring.profile().category("payments").retention.days
    assert round((record.expires_at - record.created_at).total_seconds() / 86400) == days


def test_pay4_dispute_won_after_a_partial_refund_returns_only_the_unrefunded_share(stripe_local):
    """Dispute opened (takes all 500), half refunded meanwhile, dispute won: 250 come back, not 500."""
    session_id = checkout("u1", "studio")
    charge = stripe_local.retrieve(stripe_local.pay(session_id)["payment_intent"])["latest_charge"]
    stripe_local.flush()
    dispute = stripe_local.dispute(charge)
    stripe_local.flush()
    stripe_local.refund(charge, 1000)
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 0
    stripe_local.close_dispute(dispute["id"], "won")
    stripe_local.flush()
    assert wiring.ledger().balance("u1") == 250
    assert payment(session_id)["credits_refunded"] == 250


def _reviews(operator) -> list[dict]:
    response = operator.get("/operator/payments/review")
    assert response.status_code == 200, response.body
    return response.json_body["payments"]


@pytest.mark.parametrize(
    ("change", "mismatch"),
    [
        ({"amount": 50}, {"amount": {"expected": 500, "paid": 50}}),
        ({"currency": "usd"}, {"currency": {"expected": "eur", "paid": "usd"}}),
    ],
)
def test_pay4_session_that_paid_another_price_grants_nothing_and_is_kept_for_operators(
    stripe_local,
    client,
    operator,
    written_logs,
    change,
    mismatch,
):
    price_id = wiring.catalogue().get("starter").price_id
    stripe_local.prices[price_id] = {**stripe_local.prices[price_id], **change}
    session_id = checkout("buyer-mismatch-1", "starter")
    stripe_local.pay(session_id)
    assert {status for _, status in stripe_local.flush()} == {200}
    assert client.http.get(f"/billing/success?session_id={session_id}").status_code == 200
    assert wiring.ledger().balance("buyer-mismatch-1") == 0
    assert payment(session_id)["status"] == "mismatch"
    [review] = _reviews(operator)
    assert review["payment"] == session_id
    assert review["mismatch"] == mismatch
    logged = [line for line in written_logs.getvalue().splitlines() if "catalogue" in line]
    assert len(logged) == 1, "the mismatch is logged once"
    assert '"product":"starter"' in logged[0]
    assert "buyer-mismatch-1" not in logged[0]
    assert stripe_local.objects[session_id]["customer"] not in logged[0]


def test_pay4_session_for_several_units_grants_nothing(stripe_local, client, operator):
    price_id = wiring.catalogue().get("starter").price_id
    session = stripe_local.create_checkout_session(
        {
            "mode": "payment",
            "client_reference_id": account_for("buyer-2"),
            "line_items": [{"price": price_id, "quantity": "3"}],
        },
        None,
    )
    stripe_local.pay(session["id"])
    stripe_local.flush()
    assert wiring.ledger().balance("buyer-2") == 0
    assert _reviews(operator)[0]["mismatch"] == {
        "amount": {"expected": 500, "paid": 1500},
        "quantity": {"expected": 1, "paid": 3},
    }


def test_pay4_renewal_invoice_at_another_price_grants_nothing(stripe_local, client, operator):
    session_id = checkout("buyer-3", "monthly")
    stripe_local.pay(session_id)
    stripe_local.flush()
    assert wiring.ledger().balance("buyer-3") == 1000
    price_id = wiring.catalogue().get("monthly").price_id
    stripe_local.prices[price_id] = {**stripe_local.prices[price_id], "amount": 1}
    renewal = stripe_local.renew(stripe_local.retrieve(session_id)["subscription"])
    stripe_local.flush()
    assert wiring.ledger().balance("buyer-3") == 1000
    [review] = _reviews(operator)
    assert (review["payment"], review["mismatch"]) == (renewal["id"], {"amount": {"expected": 1500, "paid": 1}})


def test_ops6_operator_payment_review_needs_iam_credentials(stripe_local, client):
    """Unsigned, the route is not there, as API Gateway answers a route under IAM authorization."""
    response = client.http.get("/operator/payments/review")
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"
