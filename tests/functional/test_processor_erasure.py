"""GEN-5 and PAY-6 against the emulators: a subscriber who generated an image is erased; the Stripe
emulator records the subscription cancelled and the customer deleted, the fal emulator records the
request's payloads deleted (and the submit asked it to keep none), the receipt lists each
acknowledgement, and an `invoice.paid` that arrives after the erasure grants nothing."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from infra.emulators.model_provider import Job
from tests.functional import content_world
from tests.functional.generation_helpers import fund, run_provider, submit
from tests.support.auth import sign_up
from tests.support.rights import CapturingStarter, run_erasure, stored_receipt_ids
from tests.support.scan import find

world = content_world.world  # the fixture


@pytest.fixture
def profile_name():
    return "pictomancer"  # no grace: erasure starts when the account is deleted


@pytest.fixture
def stripe_local(world, client, monkeypatch):
    from tests.support.stripe import running_emulator

    def deliver(body: bytes, headers: dict[str, str]) -> int:
        return client.http.post("/webhooks/stripe", body=body, headers=headers).status_code

    with running_emulator(monkeypatch, deliver) as emulator:
        yield emulator


@pytest.fixture
def starter(monkeypatch):
    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    return capturing


def _subscribed(client, stripe_local) -> tuple:
    person = sign_up(client)
    session_id = wiring.billing_service().start_checkout(person.user_id, "monthly", "a1")["session_id"]
    stripe_local.pay(session_id)
    assert {status for _, status in stripe_local.flush()} == {200}
    session = stripe_local.retrieve(session_id)
    assert wiring.ledger().balance(person.user_id) > 0  # the first period's credits
    return person, session["subscription"], session["customer"]


def _generated(world, user_id: str) -> Job:
    fund(user_id, 1)
    submit(user_id)
    assert run_provider(world)[0]["status"] == "completed"
    (job,) = world.emulator.jobs.values()
    return job


def test_gen5_pay6_erasure_cancels_billing_deletes_the_customer_and_the_providers_copy(
    client, aws, world, stripe_local, starter
):
    person, subscription_id, customer_id = _subscribed(client, stripe_local)
    job = _generated(world, person.user_id)
    # GEN-5: the submit asked fal to keep no payload and to expire its output files
    assert job.store_io is False
    assert job.lifecycle == {"expiration_duration_seconds": 3600}
    assert job.model_input == {}
    stripe_local.renew(subscription_id)  # a period paid just before the erasure; its webhook waits

    wiring.rights_service().request_erasure(person.user_id)
    name, payload = starter.started[-1]
    state = run_erasure(wiring.rights_service().context, payload)

    assert ("cancel_subscription", subscription_id) in stripe_local.erasures
    assert ("delete_customer", customer_id) in stripe_local.erasures
    assert stripe_local.objects[subscription_id]["status"] == "canceled"
    assert customer_id not in stripe_local.objects
    assert world.emulator.deleted == [job.request_id]
    assert job.output is None  # the output file is gone from the provider's CDN
    (receipt_id,) = stored_receipt_ids(aws)
    receipt = wiring.rights_service().context.rights.get_receipt(receipt_id)
    assert {(a["processor"], a["action"], a["ok"]) for a in receipt.processors} == {
        ("Stripe", "cancel_subscriptions", True),
        ("Stripe", "delete_customer", True),
        ("fal.ai", "delete_request_payloads", True),
    }
    assert customer_id not in repr(state["processors"])
    assert job.request_id not in repr(state["processors"])

    # PAY-6: the renewal's invoice.paid arrives after the erasure and grants nothing
    delivered = stripe_local.flush()
    assert ("invoice.paid", 200) in delivered
    assert wiring.ledger().balance(person.user_id) == 0
    from chalicelib.settings import get_settings
    from infra.description import describe

    assert find(aws, describe(get_settings(), wiring.profile()), [person.user_id, person.email]) == []


def test_pay6_the_stripe_calls_are_safe_to_repeat(client, stripe_local):
    """A retried step asks again: an ended subscription is skipped and a deleted customer is done."""
    person, subscription_id, customer_id = _subscribed(client, stripe_local)
    gateway = wiring.stripe()
    first = [gateway.cancel_subscriptions(customer_id), gateway.delete_customer(customer_id)]
    again = [gateway.cancel_subscriptions(customer_id), gateway.delete_customer(customer_id)]
    assert [ack.ok for ack in first + again] == [True] * 4
    cancels = [call for call in stripe_local.erasures if call[0] in ("cancel_subscription", "delete_customer")]
    assert cancels == [("cancel_subscription", subscription_id), ("delete_customer", customer_id)]
    assert person.user_id not in repr(first + again)


@pytest.mark.parametrize("profile_name", ["kaleipix"])
def test_pay6_a_rail_customer_is_erased_through_the_rail_in_the_one_acknowledgement(aws, client, monkeypatch):
    """Kaleipix's Lemon Squeezy subscriber: the erasure step reaches the rail's adapter as wired, and
    the receipt lists its acknowledgements (the same ProcessorAck as Stripe's), without the customer."""
    from tests.support.rails import WsgiHttp, _emulator_app

    monkeypatch.setenv("PIXELKEEP_GRACE_DAYS_OVERRIDE", "0")
    monkeypatch.setenv("PIXELKEEP_LEMONSQUEEZY_API_BASE", "http://rail.test")
    wiring.reset()
    app = _emulator_app(
        "lemonsqueezy",
        lambda body, headers: client.http.post("/webhooks/lemonsqueezy", body=body, headers=headers).status_code,
    )
    monkeypatch.setattr(wiring, "payments_http", lambda: WsgiHttp(app))
    capturing = CapturingStarter()
    monkeypatch.setattr(wiring, "workflow", lambda kind: capturing)
    wiring.bound_models()
    person = sign_up(client)
    checkout = wiring.rail_billing().start_checkout("lemonsqueezy", person.user_id, "monthly", "a1")
    app.emulator.pay(checkout["url"].rstrip("/").rsplit("/", 1)[-1])
    app.emulator.deliveries.flush()
    assert wiring.ledger().balance(person.user_id) > 0
    (customer_id,) = {str(s["customer_id"]) for s in app.emulator.tables["subscriptions"].values()}

    wiring.rights_service().request_erasure(person.user_id)
    _, payload = capturing.started[-1]
    state = run_erasure(wiring.rights_service().context, payload)

    (subscription,) = app.emulator.tables["subscriptions"].values()
    assert subscription["status"] == "cancelled"
    (receipt_id,) = stored_receipt_ids(aws)
    receipt = wiring.rights_service().context.rights.get_receipt(receipt_id)
    assert {(a["processor"], a["action"], a["ok"]) for a in receipt.processors} == {
        ("Lemon Squeezy", "cancel_subscriptions", True),
        ("Lemon Squeezy", "delete_customer", True),
    }
    assert all(set(ack) == {"processor", "action", "count", "ok"} for ack in state["processors"]["acknowledged"])
