"""Erasure rules on fakes (DSR-4, DSR-9, PAY-3, ACC-7): grace, cancel, the fate of each stored item,
every step idempotent, the receipt without personal data."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib import clock
from chalicelib.domain.ports.accounts import email_hash, erased_hash, user_hash
from chalicelib.domain.ports.processors import ProcessorAck
from chalicelib.domain.rights import erasure, erasure_plan
from chalicelib.domain.rights.processors import erase_at_processors
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.profile.loader import load_profile
from tests.fakes.rights import rights_world
from tests.support.rights import run_erasure


def _world(profile_name="kaleipix", now=clock.now):
    world = rights_world(load_profile(profile_name), now=now)
    world.users.add("u1", "ana@example.org")
    world.users.add("u2", "bo@example.org")
    return world


def _stored_traces(world, user_id="u1"):
    """One item of each fake record class; the rate counter and login code have no owner, only a key
    derived from the person (DSR-13); the request names the address in other capitals."""
    personal = world.personal
    key = world.context.subject_key()
    personal.add_item("accounts", {"pk": f"USER#{user_id}", "sk": "CONSENT#marketing#1", "owner_id": user_id})
    personal.add_item("accounts", {"pk": f"LOGINCODE#{email_hash(key, 'ana@example.org')}", "sk": "CODE"})
    personal.add_item("logs", {"pk": f"RATE#upload#{user_hash(key, user_id)}", "sk": "WINDOW#1", "hits": 2})
    image = f"generated/{user_id}/g1"
    job = {"pk": "GEN#g1", "sk": "JOB", "owner_id": user_id, "gen_id": "g1", "stored_key": image, "cost": 1}
    personal.add_item("content", job)
    share = {"pk": "SHARE#s1", "sk": "LINK#g1", "owner_id": user_id, "share_id": "s1", "gen_id": "g1"}
    personal.add_item("content", share)
    personal.add_item("ledger", {"pk": f"ACCOUNT#{user_id}", "sk": f"ENTRY#1#{user_id}", "owner_id": user_id, "n": 3})
    request = {"pk": "REQUEST#r1", "sk": "META", "owner_id": user_id, "kind": "erasure"}
    personal.add_item("requests", {**request, "contact_email": "Ana@Example.ORG"})
    personal.add_item("requests", {"pk": "EXPORT#x1", "sk": "EXPORT", "owner_id": user_id})
    message = {"pk": "CONTACT#m1", "sk": "MESSAGE", "owner_id": user_id, "email": "ana@example.org"}
    personal.add_item("requests", message)
    personal.objects[("content", image)] = b"png"
    personal.objects[("content", f"uploads/{user_id}/up1")] = b"png"
    personal.add_item("accounts", {"pk": "USER#u2", "sk": "CONSENT#marketing#1", "owner_id": "u2"})
    personal.objects[("content", "uploads/u2/up2")] = b"png"


def _run(world, payload, **options):
    return run_erasure(world.context, payload, **options)


def _start(world, user_id="u1"):
    world.service.erase_minor("alice", user_id, None)
    return world.erasures.started[-1][1]


def test_dsr9_delete_disables_now_and_the_tombstone_ends_the_grace():
    world = _world()
    answer = world.service.request_erasure("u1")
    assert answer["status"] == "scheduled"
    assert world.users.users["u1"].status == "disabled"
    tombstone = world.records.get_tombstone("u1")
    assert timedelta(days=29) < tombstone.expires_at - clock.now() <= timedelta(days=30, minutes=1)
    assert world.erasures.started == []
    ((to, _, text),) = world.outbox.sent
    assert to == "ana@example.org"
    assert "cancel" in text.lower()
    with pytest.raises(Conflict):
        world.service.request_erasure("u1")


def test_dsr9_the_emailed_code_cancels_inside_the_grace_and_nothing_else_does():
    world = _world()
    world.users.sessions.update({"t1": "u1", "t2": "u1", "t3": "u2"})
    request_id = world.service.request_erasure("u1")["request_id"]
    token = next(line for line in world.outbox.sent[0][2].splitlines() if line.startswith("u1."))
    with pytest.raises(InvalidInput):
        world.service.cancel_erasure("u1.not-the-code-at-all")
    assert world.service.cancel_erasure(token) == {"status": "cancelled"}
    assert world.users.users["u1"].status == "active"
    assert world.records.get_tombstone("u1") is None
    assert world.records.get_request(request_id).status == "cancelled"
    assert world.users.sessions == {"t3": "u2"}  # the request signed u1 out; the cancel revives nothing


def test_dsr9_after_the_grace_the_code_is_refused():
    later = {"now": clock.now()}
    world = _world(now=lambda: later["now"])
    world.service.request_erasure("u1")
    token = next(line for line in world.outbox.sent[0][2].splitlines() if line.startswith("u1."))
    later["now"] += timedelta(days=31)
    with pytest.raises(InvalidInput):
        world.service.cancel_erasure(token)


@pytest.mark.parametrize("profile_name", ["pixera", "pictomancer"])
def test_dsr4_grace_zero_starts_the_workflow_at_once(profile_name):
    world = _world(profile_name)
    assert world.service.request_erasure("u1")["status"] == "erasing"
    ((name, payload),) = world.erasures.started
    assert name == erasure.execution_name(payload["erasure_id"])
    assert payload == {"erasure_id": payload["erasure_id"]}  # DSR-13: the run id alone
    assert world.records.get_run(payload["erasure_id"]).user_id == "u1"
    assert world.records.get_tombstone("u1") is None


def test_acc7_a_minor_is_erased_without_grace_and_the_takedown_is_audited():
    world = _world()
    world.service.request_erasure("u1")  # already counting down: cut short
    assert world.service.erase_minor("alice", "u1", "reported") == {"status": "erasing"}
    ((_, payload),) = world.erasures.started
    assert world.records.get_run(payload["erasure_id"]).reason == "minor"
    assert [(a.operator, a.action, a.target) for a in world.records.actions] == [("alice", "minor_takedown", "u1")]


def test_dsr4_pay3_the_workflow_leaves_nothing_tied_to_the_person_and_keeps_what_law_keeps():
    world = _world()
    _stored_traces(world)
    state = _run(world, _start(world))
    assert state["residual"] == {"clean": True, "remaining": 0, "page": 1, "more": False}
    assert list(world.personal.owned_items("u1")) == []
    assert list(world.personal.owned_objects("u1")) == []
    everything = (repr(world.personal.items) + repr(world.personal.objects)).lower()
    key = world.context.subject_key()
    for needle in ("u1", "ana@example.org", email_hash(key, "ana@example.org"), user_hash(key, "u1"), "s1", "g1"):
        assert needle not in everything, needle  # DSR-13: derived keys and captured ids too
    kept = [fields for (table, _, _), fields in world.personal.items.items() if table in ("ledger", "requests")]
    (entry,) = [f for f in kept if f["pk"].startswith("ACCOUNT#")]
    pseudonym = entry["owner_id"]
    assert entry == {"pk": f"ACCOUNT#{pseudonym}", "sk": f"ENTRY#1#{pseudonym}", "n": 3, "owner_id": pseudonym}
    assert any(f.get("kind") == "erasure" for f in kept)  # the request proving the answer stays
    assert ("content", "uploads/u2/up2") in world.personal.objects  # the other person is untouched
    assert world.users.get_user("u2") is not None
    (receipt,) = world.records.receipts.values()
    assert receipt.counts["objects"] >= 2
    assert receipt.counts["records"] >= 6
    assert "ana@example.org" not in repr(receipt)
    assert state["erasure_id"] not in repr(receipt)  # DSR-13: the receipt names no execution
    assert world.outbox.sent[-1][0] == "ana@example.org"
    assert state["erasure_id"] not in world.outbox.sent[-1][2]
    assert receipt.receipt_id in world.outbox.sent[-1][2]
    ((erased, days),) = world.records.erased  # DSR-13: only a keyed hash of the id, for the backup window
    assert (erased.subject_hash, days) == (erased_hash(key, "u1"), world.context.profile.backups.days)
    assert world.records.get_run(state["erasure_id"]) is None  # the address it held is gone


def test_dsr4_every_step_run_twice_reaches_the_same_end():
    world = _world()
    _stored_traces(world)
    payload = _start(world)
    first = _run(world, payload)
    (receipt,) = world.records.receipts.values()
    sent = len(world.outbox.sent)
    again = _run(world, payload)
    assert again["residual"]["clean"]
    assert first["residual"]["clean"]
    assert list(world.records.receipts.values()) == [receipt]
    assert len(world.outbox.sent) == sent  # the run is gone: no second final email


def test_dsr4_the_residual_scan_sends_the_workflow_back_then_gives_up():
    world = _world()
    payload = _start(world)
    erasure.plan(world.context, payload)
    world.personal.objects[("content", "uploads/u1/late")] = b"png"
    assert erasure.residual_scan(world.context, payload)["clean"] is False
    erasure.residual_scan(world.context, payload)
    with pytest.raises(RuntimeError):
        erasure.residual_scan(world.context, payload)


def test_dsr4_a_failed_run_reports_a_reason_and_a_rerun_resumes_it():
    world = _world("pixera")
    request_id = world.service.request_erasure("u1")["request_id"]
    payload = world.erasures.started[-1][1]
    erasure.plan(world.context, payload)
    failed = {**payload, "failure": {"DeleteRecords": {"Error": "RuntimeError", "Cause": "ana@example.org"}}}
    assert erasure.fail(world.context, failed) == {"status": "failed", "reason": "DeleteRecords:RuntimeError"}
    run = world.records.get_run(payload["erasure_id"])
    assert (run.status, run.failure) == ("failed", "DeleteRecords:RuntimeError")
    assert world.records.get_request(request_id).status == "failed"
    erasure.plan(world.context, payload)
    assert world.records.get_run(payload["erasure_id"]).status == "running"


def test_pay3_detach_replaces_the_id_in_every_plain_value():
    value = {"pk": "USER#u1", "tags": ["u1", Decimal(3)], "set": {"u1", "x"}, "map": {"who": "mail a@example.org"}}
    detached = erasure_plan.detached(value, (), "u1", "erased-x", "a@example.org")
    assert detached == {
        "pk": "USER#erased-x",
        "tags": ["erased-x", Decimal(3)],
        "set": {"erased-x", "x"},
        "map": {"who": "mail [erased]"},
        "owner_id": "erased-x",
    }


@pytest.mark.parametrize("left_out", ["Consent", "ShareLink", "RateCounter", "LoginCode", "ContactMessage"])
def test_dsr13_the_residual_scan_finds_what_a_plan_without_one_record_class_leaves(monkeypatch, left_out):
    """Mutation check on the plan: drop one record class and the scan, which does not read the plan,
    finds what stayed; the workflow tries again and then fails rather than issue a receipt."""
    planned = erasure_plan.plan
    monkeypatch.setattr(
        erasure_plan, "plan", lambda profile, kinds: {k: v for k, v in planned(profile, kinds).items() if k != left_out}
    )
    world = _world()
    _stored_traces(world)
    payload = _start(world)
    with pytest.raises(RuntimeError, match=left_out):
        erasure_run_with_retries(world, payload)
    assert world.records.receipts == {}


def erasure_run_with_retries(world, payload):
    """The state machine's loop: back to DeleteObjects while the scan is not clean."""
    return _run(world, payload)


# -- processors (GEN-5, PAY-6) -------------------------------------------------------------------------
def _processor_traces(world, user_id="u1"):
    personal = world.personal
    payment = {"pk": "PAYMENT#in_1", "sk": "META", "owner_id": user_id, "customer_id": "cus_1", "amount": 1500}
    personal.add_item("ledger", payment)
    personal.add_item("ledger", {**payment, "pk": "PAYMENT#in_2"})  # same customer twice: asked once
    job = {"pk": "GEN#g1", "sk": "JOB", "owner_id": user_id, "provider": "fal", "provider_request_id": "req-g1"}
    personal.add_item("content", job)
    personal.add_item("content", {**job, "pk": "GEN#g9", "owner_id": "u2", "provider_request_id": "req-g9"})
    world.payments.objects["sub_1"] = {"id": "sub_1", "customer": "cus_1", "status": "active"}
    world.payments.objects["cus_1"] = {"id": "cus_1", "email": "ana@example.org"}


def test_gen5_pay6_erasure_asks_every_processor_and_the_receipt_lists_their_acknowledgements():
    world = _world()
    _processor_traces(world)
    state = _run_with_processors(world, _start(world))
    assert world.payments.erasure_calls == [("cancel_subscriptions", "cus_1"), ("delete_customer", "cus_1")]
    assert world.payments.objects["sub_1"]["status"] == "canceled"
    assert "cus_1" not in world.payments.objects
    assert world.provider.deleted == ["req-g1"]  # not u2's request
    # PAY-3 after PAY-6: the payments stay, detached; the customer reference went with the processor call
    kept = [f for (table, pk, _), f in world.personal.items.items() if pk.startswith("PAYMENT#")]
    assert len(kept) == 2
    assert all("customer_id" not in f and f["owner_id"] != "u1" for f in kept)
    (receipt,) = world.records.receipts.values()
    assert sorted((a["processor"], a["action"], a["count"], a["ok"]) for a in receipt.processors) == [
        ("Stripe", "cancel_subscriptions", 1, True),
        ("Stripe", "delete_customer", 1, True),
        ("fal.ai", "delete_request_payloads", 1, True),
    ]
    history = repr(state["processors"])
    assert "cus_1" not in history
    assert "req-g1" not in history  # the workflow history names processors, never references


def test_gen5_erasure_deletes_a_characters_weights_after_its_training_job_record_expired():
    """A character keeps the training request whose output files are its weights; with the job's own
    record long gone, erasure still asks the provider to delete them."""
    world = _world()
    character = {"pk": "USER#u1", "sk": "CHAR#t1", "owner_id": "u1", "provider": "fal"}
    world.personal.add_item("content", {**character, "provider_request_id": "req-t1", "model_ref": "https://w.test/l"})
    _run_with_processors(world, _start(world))
    assert world.provider.deleted == ["req-t1"]


def test_gen5_a_processor_that_does_not_acknowledge_fails_the_step():
    world = _world()
    _processor_traces(world)
    world.provider.refuses_deletion = True
    payload = _start(world)
    erasure.plan(world.context, payload)
    with pytest.raises(RuntimeError, match="not acknowledged"):
        world.service.erasure_processors(payload)


def _run_with_processors(world, payload):
    return _run(world, payload)


def test_pay6_each_customer_is_erased_on_the_rail_it_paid_through():
    """PAY-5/PAY-6: a Polar customer is cancelled and deleted at Polar, never asked of Stripe."""
    world = _world()
    _processor_traces(world)
    polar = {"pk": "PAYMENT#polar:ord_1", "sk": "PAYMENT", "owner_id": "u1", "customer_id": "pcus_1"}
    world.personal.add_item("ledger", polar)
    asked: list[tuple[str, str, str]] = []

    class Recording:
        def __init__(self, rail):
            self.rail = rail

        def cancel_subscriptions(self, customer):
            asked.append((self.rail, "cancel_subscriptions", customer))
            return ProcessorAck(self.rail, "cancel_subscriptions", customer, True)

        def delete_customer(self, customer):
            asked.append((self.rail, "delete_customer", customer))
            return ProcessorAck(self.rail, "delete_customer", customer, True)

    payload = _start(world)
    erasure.plan(world.context, payload)
    context = dataclasses.replace(world.context, payment_processor=Recording)
    erase_at_processors(context, payload)
    assert sorted(asked) == [
        ("polar", "cancel_subscriptions", "pcus_1"),
        ("polar", "delete_customer", "pcus_1"),
        ("stripe", "cancel_subscriptions", "cus_1"),
        ("stripe", "delete_customer", "cus_1"),
    ]


@pytest.mark.parametrize("profile_name", ["pixera", "kaleipix"])
def test_dsr11_an_erasure_ends_the_persons_other_open_requests_and_their_reminders(profile_name):
    """Once the erasure starts nobody is left to answer: the person's other requests end with it, so
    no reminder calls an operator to a request whose subject is gone; until then (the grace) they
    stay owed, as the erasure may still be cancelled. Another person's requests are untouched."""
    later = {"now": clock.now()}
    world = _world(profile_name, now=lambda: later["now"])
    access = world.service.open_request("u1", "access")["id"]
    restriction = world.service.open_request("u1", "restriction")["id"]
    others = world.service.open_request("u2", "access")["id"]
    erasure_request = world.service.request_erasure("u1")["request_id"]
    if world.records.get_tombstone("u1") is not None:  # a grace: still owed while it runs
        assert world.records.get_request(access).status == "open"
        tombstone = world.records.get_tombstone("u1")
        later["now"] = tombstone.expires_at + timedelta(seconds=1)
        erasure.start_after_grace(world.context, dataclasses.asdict(tombstone))
    for request_id in (access, restriction):
        assert world.records.get_request(request_id).status == "cancelled"
        assert world.records.reminders(request_id) == []
        assert any("erasure" in event.what for event in world.records.events(request_id))
    assert world.records.get_request(others).status == "open"
    assert world.records.get_request(erasure_request).status not in ("cancelled", "completed")
