"""The embedded Stripe behaves as Stripe does where the service depends on it: it refuses a wrong
secret key, retries deliveries answered with an error, can be driven over HTTP (delayed payments,
disputes, renewals, cancellations), and its access lines carry no secret."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import stripe

from infra.emulators.stripe import create_app
from infra.local_secrets import LOCAL_SECRETS

API_KEY = LOCAL_SECRETS["stripe-api-key"]
WEBHOOK_SECRET = LOCAL_SECRETS["stripe-webhook-secret"]


class Receiver:
    """Stands in for the app's webhook endpoint: answers the statuses it is given, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict, dict[str, str]]] = []
        self._lock = threading.Lock()

    def __call__(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.received.append((json.loads(body), headers))
            return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def served(receiver: Receiver, **options) -> Iterator[tuple[str, object]]:
    """The emulator over real HTTP on a free port."""
    from werkzeug.serving import make_server

    app = create_app(api_base_url="http://app.invalid", deliver=receiver, **options)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.emulator.public_url = url
    try:
        yield url, app.emulator
    finally:
        server.shutdown()
        thread.join(timeout=5)


def client(url: str, key: str = API_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)


def control(url: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        f"{url}{path}", data=json.dumps(body or {}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def start_session(url: str, price: str = "price_local_pack_starter", mode: str = "payment") -> dict:
    params = {"mode": mode, "line_items": [{"price": price, "quantity": 1}], "client_reference_id": "u1"}
    if mode == "subscription":
        params["subscription_data"] = {"metadata": {"user_id": "u1", "plan": "monthly"}}
    return client(url).v1.checkout.sessions.create(params).to_dict()


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_api_calls_without_the_secret_key_are_refused_with_stripes_error():
    with served(Receiver()) as (url, _):
        with pytest.raises(stripe.AuthenticationError) as wrong_key:
            client(url, "sk_test_wrong").v1.checkout.sessions.list({"limit": 1})
        assert wrong_key.value.http_status == 401
        assert "sk_test_wrong" not in str(wrong_key.value)  # Stripe never echoes a key back
        with pytest.raises(urllib.error.HTTPError) as no_key:
            urllib.request.urlopen(f"{url}/v1/charges/ch_1", timeout=10)  # noqa: S310
        assert no_key.value.code == 401
        error = json.loads(no_key.value.read())["error"]
        assert error["type"] == "invalid_request_error"
        assert error["message"]
        assert client(url).v1.checkout.sessions.list({"limit": 1}).to_dict()["object"] == "list"


def test_a_delivery_answered_with_an_error_is_retried_with_backoff_and_signed_afresh():
    receiver = Receiver([500, 503])
    with served(receiver, autoflush=False, retry_delays=(0.05, 0.1, 0.2)) as (url, emulator):
        session = start_session(url)
        control(url, f"/_emulator/sessions/{session['id']}/pay")
        assert emulator.flush() == [("checkout.session.completed", 500)]
        wait_until(lambda: len(receiver.received) == 3)
        emulator.wait_for_retries(timeout=5)
        assert [event["id"] for event, _ in receiver.received] == [receiver.received[0][0]["id"]] * 3
        signatures = [headers["Stripe-Signature"] for _, headers in receiver.received]
        for signature in signatures:
            event_body = json.dumps(receiver.received[0][0]).encode()
            stripe.WebhookSignature.verify_header(event_body, signature, WEBHOOK_SECRET, tolerance=300)
        assert [status for _, status in emulator.delivered] == [500, 503, 200]


def test_retries_are_bounded():
    receiver = Receiver([500] * 10)
    with served(receiver, autoflush=False, retry_delays=(0.01, 0.02)) as (url, emulator):
        control(url, f"/_emulator/sessions/{start_session(url)['id']}/pay")
        emulator.flush()
        emulator.wait_for_retries(timeout=5)
        assert len(receiver.received) == 3
        status, events = control_get(url, "/_emulator/events")
        assert events["failed"] == [{"type": "checkout.session.completed", "attempts": 3}]


def control_get(url: str, path: str) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{url}{path}", timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def test_delayed_payments_disputes_renewals_and_cancellations_are_triggered_over_http():
    receiver = Receiver()
    with served(receiver, autoflush=True) as (url, emulator):
        delayed = start_session(url)
        assert control(url, f"/_emulator/sessions/{delayed['id']}/pay", {"method": "delayed"})[0] == 200
        assert client(url).v1.checkout.sessions.retrieve(delayed["id"]).payment_status == "unpaid"
        assert control(url, f"/_emulator/sessions/{delayed['id']}/settle", {"outcome": "succeeded"})[0] == 200
        assert client(url).v1.checkout.sessions.retrieve(delayed["id"]).payment_status == "paid"
        failing = start_session(url)
        control(url, f"/_emulator/sessions/{failing['id']}/pay", {"method": "delayed"})
        control(url, f"/_emulator/sessions/{failing['id']}/settle", {"outcome": "failed"})

        status, dispute = control(url, "/_emulator/disputes", {"payment": delayed["id"]})
        assert (status, dispute["status"]) == (200, "needs_response")
        status, closed = control(url, f"/_emulator/disputes/{dispute['id']}/close", {"status": "won"})
        assert (status, closed["status"]) == (200, "won")

        plan = start_session(url, "price_local_plan_monthly", mode="subscription")
        control(url, f"/_emulator/sessions/{plan['id']}/pay")
        status, invoice = control(url, f"/_emulator/subscriptions/{plan['id']}/renew")
        assert (status, invoice["billing_reason"]) == (200, "subscription_cycle")
        status, cancelled = control(url, f"/_emulator/subscriptions/{plan['id']}/cancel")
        assert (status, cancelled["status"]) == (200, "canceled")
        assert control(url, "/_emulator/disputes", {"payment": "ch_unknown"})[0] == 404

        wait_until(lambda: len(receiver.received) == 11)
        kinds = [event["type"] for event, _ in receiver.received]
        for kind in (
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
            "checkout.session.async_payment_failed",
            "charge.dispute.created",
            "charge.dispute.closed",
            "invoice.paid",
            "customer.subscription.deleted",
        ):
            assert kind in kinds


def test_access_lines_name_each_request_and_carry_no_secret(caplog):
    receiver = Receiver([400])
    with caplog.at_level(logging.INFO), served(receiver, autoflush=False, retry_delays=(0.01,)) as (url, emulator):
        session = start_session(url)
        client(url).v1.checkout.sessions.retrieve(session["id"])
        control(url, f"/_emulator/sessions/{session['id']}/pay")
        emulator.flush()
        emulator.wait_for_retries(timeout=5)
    lines = [record.getMessage() for record in caplog.records]
    assert any("POST /v1/checkout/sessions 200" in line for line in lines), lines
    assert any("checkout.session.completed" in line and "400" in line for line in lines), lines
    signatures = [headers["Stripe-Signature"] for _, headers in receiver.received]
    secrets = [API_KEY, WEBHOOK_SECRET, *signatures, *(s.split("v1=")[1] for s in signatures)]
    assert [line for line in lines if any(secret in line for secret in secrets)] == []
