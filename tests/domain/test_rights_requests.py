"""The requests ledger, consent, contact and operators on fakes (DSR-5 … DSR-8, DSR-10, OPS-6, SEC-1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib.domain.rights.operators import principal
from chalicelib.domain.rights.rights_requests import MAX_VERIFICATION_ATTEMPTS
from chalicelib.errors import Conflict, Forbidden, InvalidInput, NotFound, Restricted, Unauthenticated
from chalicelib.profile.loader import load_profile
from tests.fakes.rights import rights_world


def _world(profile_name="kaleipix"):
    world = rights_world(load_profile(profile_name))
    world.users.add("u1", "ana@example.org")
    return world


def _code(world) -> str:
    return re.search(r"code (\d{6})", world.outbox.sent[-1][2]).group(1)


def test_dsr8_a_request_is_due_by_the_profile_deadline_with_the_policy_version_pinned():
    world = _world("promptpixels")
    answer = world.service.open_request("u1", "rectification")
    request = world.records.get_request(answer["id"])
    assert request.due_at - request.created_at == timedelta(hours=48)
    assert request.policy_version == world.context.profile.policy.version
    assert [e.what for e in world.records.events(answer["id"])] == ["received (signed_in)"]
    assert world.service.user_requests("u1") == [answer]


def test_dsr7_an_emailed_request_waits_for_its_code_then_an_access_request_runs_by_itself():
    world = _world()
    answer = world.service.submit_request_by_email(kind="access", email="ana@example.org")
    assert answer["status"] == "unverified"
    stored = world.records.get_request(answer["request_id"])
    assert stored.owner_id == "u1"
    assert _code(world) not in (stored.verification_hash or "")
    assert world.exports.started == []
    verified = world.service.verify_request(answer["request_id"], _code(world))
    assert verified["status"] == "open"
    ((_, payload),) = world.exports.started
    assert payload["user_id"] == "u1"
    assert world.limiter.checked == [("rights_code_guess", "ana@example.org")]


@pytest.mark.parametrize("kind", ["access", "erasure", "objection"])
def test_dsr7_the_confirmation_mail_names_the_request_in_plain_words(kind):
    world = _world()
    world.service.submit_request_by_email(kind=kind, email="ana@example.org")
    text = world.outbox.sent[-1][2]
    assert f"your {kind} request" in text
    assert f"'{kind}'" not in text
    assert not re.search(r"\ba [aeiou]", text)  # no "a access", "a erasure", "a objection"


def test_dsr7_wrong_codes_lock_the_request():
    world = _world()
    request_id = world.service.submit_request_by_email(kind="erasure", email="ana@example.org")["request_id"]
    for _ in range(MAX_VERIFICATION_ATTEMPTS):
        with pytest.raises(InvalidInput):
            world.service.verify_request(request_id, "000000" if _code(world) != "000000" else "111111")
    with pytest.raises(Forbidden):
        world.service.verify_request(request_id, _code(world))
    assert world.records.get_request(request_id).status == "unverified"
    assert world.users.users["u1"].status == "active"


def test_dsr7_a_verified_request_that_needs_a_person_waits_in_the_queue():
    world = _world()
    request_id = world.service.submit_request_by_email(kind="rectification", email="ana@example.org")["request_id"]
    world.service.verify_request(request_id, _code(world))
    assert [r["id"] for r in world.service.request_queue("alice")] == [request_id]
    with pytest.raises(NotFound):
        world.service.verify_request(request_id, _code(world))


ALICE = "arn:aws:iam::123456789012:user/alice"


@pytest.mark.parametrize(
    "arn", [ALICE, "arn:aws:sts::123456789012:assumed-role/Operators/alice", "arn:aws-us-gov:iam::123456789012:root"]
)
def test_ops6_an_operator_is_the_iam_principal_api_gateway_names(arn):
    assert principal({"userArn": arn, "sourceIp": "203.0.113.7"}) == arn


@pytest.mark.parametrize(
    "identity", [{}, {"userArn": None}, {"userArn": "alice"}, {"userArn": "arn:aws:iam::1:user/x"}]
)
def test_ops6_a_request_without_an_iam_principal_is_no_operator(identity):
    with pytest.raises(Unauthenticated):
        principal(identity)


def test_ops6_every_operator_action_is_audited_with_the_principal():
    world = _world()
    request_id = world.service.open_request("u1", "objection")["id"]
    assert world.service.set_request_status(ALICE, request_id, "completed")["status"] == "completed"
    with pytest.raises(InvalidInput):
        world.service.set_request_status(ALICE, request_id, "cancelled")
    month = f"{world.records.get_request(request_id).created_at:%Y-%m}"
    actions = [(a["operator"], a["action"]) for a in world.service.audit_log(ALICE, month)]
    assert actions == [(ALICE, "request_completed"), (ALICE, "view_audit_log")]
    assert world.service.request_queue(ALICE) == []


def test_ops6_an_unverified_request_is_not_an_operators_to_change():
    world = _world()
    request_id = world.service.submit_request_by_email(kind="access", email="ana@example.org")["request_id"]
    with pytest.raises(NotFound):
        world.service.set_request_status("alice", request_id, "completed")


def test_dsr6_withdrawing_marketing_consent_deletes_the_contact_and_is_a_request():
    world = _world("pictomancer")
    world.service.record_consent("u1", "marketing", True)
    assert world.records.marketing_contact("u1").email == "ana@example.org"
    world.service.send_marketing("u1", "News", "Hello")
    state = world.service.record_consent("u1", "marketing", False)
    assert state["consents"] == {"marketing": False}
    assert world.records.marketing_contact("u1") is None
    with pytest.raises(Forbidden):
        world.service.send_marketing("u1", "News", "Hello")
    assert {(r["kind"], r["status"]) for r in world.service.user_requests("u1")} == {("withdraw_consent", "completed")}


def test_dsr5_an_objection_stops_marketing_even_with_consent():
    world = _world()
    world.service.record_consent("u1", "marketing", True)
    assert world.service.set_processing("u1", restricted=None, objections=["marketing"]) == {
        "restricted": False,
        "objections": ["marketing"],
    }
    with pytest.raises(Restricted):
        world.service.send_marketing("u1", "News", "Hello")
    with pytest.raises(InvalidInput):
        world.service.set_processing("u1", restricted=None, objections=["everything"])


def test_dsr10_an_anonymous_message_belongs_to_the_account_holding_the_address():
    world = _world("pixera")
    answer = world.service.submit_contact(
        user_id=None, email="ana@example.org", subject="Hi", body="Help", idempotency_key=None
    )
    assert world.records.messages[answer["id"]]["owner_id"] == "u1"


def test_dsr10_a_profile_that_keeps_no_messages_refuses_them():
    world = _world("kaleipix")
    with pytest.raises(InvalidInput):
        world.service.submit_contact(user_id="u1", email=None, subject="Hi", body="Help", idempotency_key=None)


def test_dsr10_a_retried_form_with_one_idempotency_key_stores_one_message():
    world = _world("pixera")
    sent = {"user_id": "u1", "email": None, "subject": "Hi", "body": "Help", "idempotency_key": "k1"}
    first = world.service.submit_contact(**sent)
    assert world.service.submit_contact(**sent) == first
    assert len(world.records.messages) == 1
    with pytest.raises(Conflict):
        world.service.submit_contact(**{**sent, "body": "Something else"})
