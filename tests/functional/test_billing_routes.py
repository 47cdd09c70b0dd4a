"""The billing routes over chalice.test.Client: checkout, ledger (PAY-2), webhook refusals."""

from __future__ import annotations

import json

from tests.functional.test_billing_checkout import stripe_local  # noqa: F401  (fixture)
from tests.support.auth import sign_up


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
