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
from tests.support.rights import CapturingStarter, run_erasure
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
    assert job.image is None  # the output file is gone from the provider's CDN
    receipt = wiring.rights_service().context.rights.get_receipt(payload["erasure_id"])
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
