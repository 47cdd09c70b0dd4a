"""The payment rails through the API on moto (PAY-2, PAY-4, PAY-5): checkout, the rail's signed
deliveries on its webhook route, the ledger, and the rails a profile does not name refused. Each
rail's emulator is reached in-process; its deliveries go through chalice.test.Client."""

from __future__ import annotations

import json

import pytest

from tests.support.auth import stored_user
from tests.support.rails import WsgiHttp

CASES = {
    "polar": ("promptpixels", "/webhooks/polar", "PIXELKEEP_POLAR_API_BASE"),
    "lemonsqueezy": ("kaleipix", "/webhooks/lemonsqueezy", "PIXELKEEP_LEMONSQUEEZY_API_BASE"),
    "telegram_stars": ("kaleipix", "/webhooks/telegram", "PIXELKEEP_TELEGRAM_API_BASE"),
}


@pytest.fixture(params=list(CASES))
def rail(request) -> str:
    return request.param


@pytest.fixture
def profile_name(rail) -> str:
    return CASES[rail][0]


@pytest.fixture
def emulator(rail, aws, client, monkeypatch):
    from chalicelib import wiring
    from tests.support.rails import _emulator_app

    route = CASES[rail][1]

    def deliver(body: bytes, headers: dict) -> int:
        return client.http.post(route, body=body, headers=headers).status_code

    app = _emulator_app(rail, deliver)
    monkeypatch.setenv(CASES[rail][2], "http://rail.test")
    wiring.reset()
    monkeypatch.setattr(wiring, "payments_http", lambda: WsgiHttp(app))
    wiring.bound_models()  # settings read now, outside chalice.test.Client's request environment
    return app.emulator


def _pay(rail: str, emulator, url: str) -> None:
    slug = url.rstrip("/").rsplit("/", 1)[-1]
    paid = emulator.pay(slug, 7_100_001) if rail == "telegram_stars" else emulator.pay(slug)
    assert paid.get("paid", True) is not False


def _checkout(client, user, rail: str, product: str = "starter"):
    body = json.dumps({"product": product, "rail": rail})
    return client.http.post(
        "/billing/checkout", body=body, headers={**user.headers, "Content-Type": "application/json"}
    )


def test_pay2_pay4_a_purchase_on_the_rail_reaches_the_ledger_once(rail, emulator, client):
    user = stored_user()
    started = _checkout(client, user, rail)
    assert started.status_code == 201, started.body
    assert started.json_body["rail"] == rail
    _pay(rail, emulator, started.json_body["url"])
    emulator.deliveries.duplicate_rate = 1.0  # every delivery twice
    statuses = [status for _, status in emulator.deliveries.flush()]
    assert statuses
    assert set(statuses) == {200}
    page = client.http.get("/me/ledger", headers=user.headers).json_body
    assert page["balance"] == 100
    assert [(e["kind"], e["amount"]) for e in page["entries"]] == [("grant", 100)]
    assert page["entries"][0]["details"]["payment"].startswith(f"{rail}:")


def test_pay4_a_forged_delivery_is_refused_in_the_one_shape_and_writes_nothing(rail, emulator, client):
    from chalicelib import wiring

    user = stored_user()
    _pay(rail, emulator, _checkout(client, user, rail).json_body["url"])
    body, headers = next(iter(_captured(emulator)))
    forged = client.http.post(
        CASES[rail][1],
        body=body.replace(b"}", b" }", 1),
        headers={"X-Signature": "00", "Content-Type": "application/json"},
    )
    assert forged.status_code == 400, forged.body
    assert forged.json_body["error"]["code"] == "signature_invalid"
    assert wiring.ledger().balance(user.user_id) == 0


def _captured(emulator) -> list[tuple[bytes, dict]]:
    """The queued deliveries as the rail would send them (signed), without sending them."""
    sent: list[tuple[bytes, dict]] = []
    emulator.deliveries._deliver = lambda body, headers: sent.append((body, headers)) or 200
    emulator.deliveries.flush()
    return sent


def test_pay5_rails_the_profile_does_not_name_are_refused(rail, emulator, client):
    user = stored_user()
    assert _checkout(client, user, "stripe").status_code == 404
    other = "polar" if rail != "polar" else "lemonsqueezy"
    assert _checkout(client, user, other).status_code == 404
    refused = client.http.post("/webhooks/stripe", body=b"{}", headers={"Content-Type": "application/json"})
    assert refused.status_code == 404
    assert refused.json_body["error"]["code"] == "not_found"
    foreign_route = "/webhooks/polar" if rail != "polar" else "/webhooks/lemonsqueezy"
    assert client.http.post(foreign_route, body=b"{}", headers={"Content-Type": "application/json"}).status_code == 404
    assert client.http.get("/billing/success?session_id=cs_123").status_code == 404


def test_pay4_a_browser_back_from_the_rails_pay_page_lands_on_the_web_apps_credits_page(rail, emulator, client):
    """The success redirect of every rail sends a browser (Accept: text/html) on to the app; a client
    reading JSON is told the payment is being processed (the signed delivery grants)."""
    back = f"/billing/success?rail={rail}&checkout_id=ch_1"
    page = client.http.get(back, headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 303
    assert page.headers["Location"].endswith("/app/#/credits?paid")
    answer = client.http.get(back, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json_body == {"rail": rail, "status": "processing"}
