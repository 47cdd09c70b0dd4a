"""The billing routes over chalice.test.Client: checkout, ledger (PAY-2), webhook refusals."""

from __future__ import annotations

import json

import pytest

from tests.functional.test_billing_checkout import stripe_local  # noqa: F401  (fixture)
from tests.support.auth import sign_up


@pytest.fixture
def profile_name():
    return "pixera"  # a profile whose policy names Stripe (PAY-5)


def test_pay2_checkout_and_ledger_through_the_api(stripe_local, client):  # noqa: F811
    user = sign_up(client)
    assert client.http.post("/billing/checkout", body=json.dumps({"product": "starter"})).status_code == 401
    refused = client.http.post("/billing/checkout", body=json.dumps({"product": "../x"}), headers=user.headers)
    assert refused.status_code == 400
    assert refused.json_body["error"]["code"] == "invalid_input"
    unknown = client.http.post("/billing/checkout", body=json.dumps({"product": "gold"}), headers=user.headers)
    assert unknown.status_code == 404
    started = client.http.post("/billing/checkout", body=json.dumps({"product": "starter"}), headers=user.headers)
    assert started.status_code == 201
    stripe_local.pay(started.json_body["session_id"])
    stripe_local.flush()
    page = client.http.get("/me/ledger?limit=10", headers=user.headers).json_body
    assert page["balance"] == 100
    assert page["entries"][0]["kind"] == "grant"
    assert page["entries"][0]["amount"] == 100
    assert (page["entries"][0]["sequence"], page["entries"][0]["balance_after"]) == (1, 100)
    products = client.http.get("/billing/catalogue").json_body["products"]
    assert {"starter", "studio", "monthly"} <= {p["id"] for p in products}


def test_pay4_unsigned_or_forged_webhook_is_a_json_400_and_changes_nothing(stripe_local, client):  # noqa: F811
    from chalicelib import wiring

    event = {"id": "evt_x", "object": "event", "type": "checkout.session.completed", "data": {"object": {"id": "cs_x"}}}
    body = json.dumps(event)
    for headers in ({}, {"Stripe-Signature": "t=1,v1=deadbeef"}):
        response = client.http.post(
            "/webhooks/stripe", body=body, headers={"Content-Type": "application/json", **headers}
        )
        assert response.status_code == 400
        assert response.json_body["error"]["code"] == "signature_invalid"
    assert wiring.payments().payment("cs_x") is None


def _signed_post(client, emulator, body: bytes, at: int):
    from infra.emulators.stripe import sign

    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body, emulator.webhook_secret, at)}
    return client.http.post("/webhooks/stripe", body=body, headers=headers)


def test_pay4_webhook_signed_in_the_future_is_refused_like_a_stale_one(stripe_local, client):  # noqa: F811
    """A signature timestamp is accepted within 300 s either side of now, as the fal adapter does."""
    import time

    body = json.dumps({"id": "evt_f", "object": "event", "type": "ping", "data": {"object": {"id": "x_1"}}}).encode()
    now = int(time.time())
    for skew in (3600, 301, -301):
        response = _signed_post(client, stripe_local, body, now + skew)
        assert response.status_code == 400, skew
        assert response.json_body["error"]["code"] == "signature_invalid"
    for skew in (240, -240):
        assert _signed_post(client, stripe_local, body, now + skew).status_code == 200, skew


MALFORMED_EVENTS = {
    "a list": [],
    "a string": "checkout.session.completed",
    "a number": 42,
    "null": None,
    "a numeric object id": {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": 7}}},
    "a list object id": {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": ["ch_1"]}}},
    "a list as type": {"id": "evt_1", "type": ["charge.refunded"], "data": {"object": {"id": "ch_1"}}},
    "a list as data": {"id": "evt_1", "type": "charge.refunded", "data": []},
    "a string as object": {"id": "evt_1", "type": "charge.refunded", "data": {"object": "ch_1"}},
    "no type": {"id": "evt_1", "data": {"object": {"id": "ch_1"}}},
    "not JSON": b"{not json",
}


@pytest.mark.parametrize("case", MALFORMED_EVENTS)
def test_pay4_validly_signed_malformed_event_is_a_json_400(stripe_local, client, case):  # noqa: F811
    """Stripe retries any 5xx for three days: a body that can never be processed is refused for good."""
    import time

    event = MALFORMED_EVENTS[case]
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    response = _signed_post(client, stripe_local, body, int(time.time()))
    assert response.status_code == 400, response.body
    assert set(response.json_body) == {"error"}
    assert response.json_body["error"]["code"] == "invalid_input"


def test_pay4_signed_event_whose_object_has_no_id_is_acknowledged(stripe_local, client):  # noqa: F811
    """Some Stripe events (balance.available) carry an object without an id: not an error."""
    import time

    body = json.dumps({"id": "evt_b", "type": "balance.available", "data": {"object": {"object": "balance"}}})
    response = _signed_post(client, stripe_local, body.encode(), int(time.time()))
    assert response.status_code == 200
    assert response.json_body == {"received": True, "handled": False}


def test_pay1_a_second_pack_in_the_same_hour_gets_a_new_session_and_a_retry_the_same(stripe_local, client):  # noqa: F811
    """A repeated checkout without a key reuses the buyer's session only while it is still open: a
    retried request lands on the same session, a paid or expired one is never handed out again."""
    user = sign_up(client)

    def buy(headers: dict | None = None) -> str:
        body = json.dumps({"product": "starter"})
        started = client.http.post("/billing/checkout", body=body, headers={**user.headers, **(headers or {})})
        assert started.status_code == 201, started.json_body
        return started.json_body["session_id"]

    first = buy()
    assert buy() == first  # a network retry: the open session again
    stripe_local.pay(first)
    stripe_local.flush()
    second = buy()
    assert second != first
    assert buy() == second
    stripe_local.expire(second)
    third = buy()
    assert third not in (first, second)
    stripe_local.pay(third)
    stripe_local.flush()
    assert client.http.get("/me/ledger", headers=user.headers).json_body["balance"] == 200
    keyed = buy({"Idempotency-Key": "k-1"})
    stripe_local.pay(keyed)
    assert buy({"Idempotency-Key": "k-1"}) == keyed  # the caller's key: its answer, whatever the state
    assert buy({"Idempotency-Key": "k-2"}) not in (keyed, first, second, third)


def test_pay1_an_idempotency_key_that_is_malformed_or_contradicts_the_attempt_is_a_400(stripe_local, client):  # noqa: F811
    user = sign_up(client)
    for headers, body in (
        ({"Idempotency-Key": "k 1/.."}, {"product": "starter"}),
        ({"Idempotency-Key": "k-1"}, {"product": "starter", "attempt": "k-2"}),
    ):
        refused = client.http.post("/billing/checkout", body=json.dumps(body), headers={**user.headers, **headers})
        assert refused.status_code == 400
        assert refused.json_body["error"]["code"] == "invalid_input"
    agreed = {**user.headers, "Idempotency-Key": "k-1"}
    body = json.dumps({"product": "starter", "attempt": "k-1"})
    assert client.http.post("/billing/checkout", body=body, headers=agreed).status_code == 201
